"""Whether a path read from a service's directory stays inside it once links are followed.

A pull request can add a symbolic link as easily as a file: `deploy/staging.yml ->
/home/ci/.docker/config.json` would otherwise be read on the CI agent, and parts of it
echoed in error messages. A link that stays inside the service (a shared overlay) is fine.
"""

from __future__ import annotations

from pathlib import Path


def resolves_inside(path: Path, root: Path) -> bool:
    """True when `path`, with every link on the way followed, is `root` or below it."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links leads nowhere, certainly not inside
        return False
