"""A service's deploy/ files as they were at a git ref, read with git, never touching
the working tree, and parsed by the same pure pipeline as the files on disk.

Two git processes per service: `ls-tree` to list deploy/*.yml at the ref, and one
`cat-file --batch` for all their contents.
"""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

from skytrain.config.build import BASE_FILE, DEPLOY_DIR, ServiceFiles, parse_service
from skytrain.errors import UsageError


def read_service_at(ref: str, directory: Path) -> ServiceFiles | None:
    """The service's files at `ref`, or None when the service did not exist there."""
    try:
        top = _git(directory, "rev-parse", "--show-toplevel").strip()
    except UsageError as exc:
        raise UsageError(f"--against {ref} needs {directory} to be inside a git repository ({exc})") from None
    relative = PurePosixPath(directory.resolve().relative_to(Path(top).resolve()).as_posix())
    commit = _commit(directory, ref)
    deploy = relative / DEPLOY_DIR if str(relative) != "." else PurePosixPath(DEPLOY_DIR)
    listing = _git(Path(top), "ls-tree", "-z", "--full-name", "--name-only", commit, "--", f"{deploy}/")
    paths = [p for p in listing.split("\0") if p.endswith(".yml") and PurePosixPath(p).parent == deploy]
    if not any(PurePosixPath(p).name == BASE_FILE for p in paths):
        return None
    texts = dict(
        zip((PurePosixPath(p).name for p in paths), _contents(Path(top), commit, paths), strict=True)
    )
    return parse_service(f"{ref}:{relative}", texts)


def _commit(directory: Path, ref: str) -> str:
    try:
        return _git(
            directory, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        ).strip()
    except UsageError:
        raise UsageError(
            f"--against {ref}: no such commit, branch or tag in the git repository of {directory} "
            "(in CI, fetch it first, e.g. git fetch origin main)"
        ) from None


def _contents(top: Path, commit: str, paths: list[str]) -> list[str]:
    request = "".join(f"{commit}:{path}\n" for path in paths).encode()
    out = _run(top, ["git", "cat-file", "--batch"], request)
    texts, position = [], 0
    for _ in paths:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        start = header_end + 1
        texts.append(out[start : start + size].decode("utf-8", errors="replace"))
        position = start + size + 1
    return texts


def _git(cwd: Path, *args: str) -> str:
    return _run(cwd, ["git", *args]).decode()


def _run(cwd: Path, command: list[str], stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--against needs git, and git is not installed") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"{' '.join(command[:2])} failed"
        raise UsageError(f"{cwd}: {message}")
    return done.stdout
