"""The tools format: per-field changes with JSON pointers, old and new values, restart flags.

Values come from the redacted plan, so a secret appears only as its redaction note.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from skytrain.diff.compare import DiffResult


def format_json(results: Sequence[DiffResult]) -> str:
    document = {
        "changes": any(r.changed for r in results),
        "restarts": any(r.restarts for r in results),
        "results": [r.to_json() for r in results],
    }
    return json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"
