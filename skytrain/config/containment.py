"""Whether a path read from a service's directory stays inside it once links are followed.

A pull request can add a symbolic link as easily as a file: `deploy/staging.yml ->
/home/ci/.docker/config.json` would otherwise be read on the CI agent, and parts of it
echoed in error messages. A link that stays inside the service (a shared overlay) is fine.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolves_inside(path: Path, root: Path) -> bool:
    """True when `path`, with every link on the way followed, is `root` or below it.
    Written below `root` and with no link on the way (the usual case), it is inside
    without resolving anything: one lstat per part, not a walk of every folder up to /."""
    folder, target = os.fspath(root).rstrip(os.sep), os.fspath(path)
    if not target.startswith(folder + os.sep):
        return _resolved_inside(path, root)
    current = folder
    for part in target[len(folder) + 1 :].split(os.sep):
        current += os.sep + part
        if part == ".." or os.path.islink(current):
            return _resolved_inside(path, root)
    return True


def _resolved_inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop of links leads nowhere, certainly not inside
        return False
