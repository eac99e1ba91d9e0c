"""The dry-run diff: what a change would do, against live state or a git ref.

Pure: nothing here talks to a scheduler. The live path gets what runs from a backend's
`live_objects(apps)` (called by the command) and hands it to `diff_live`.
"""

from skytrain.diff.compare import Action, DiffResult, FieldChange, ObjectDiff
from skytrain.diff.plan import diff_live, diff_rendered

__all__ = ["Action", "DiffResult", "FieldChange", "ObjectDiff", "diff_live", "diff_rendered"]
