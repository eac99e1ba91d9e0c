"""A service's deploy/ files as they were at a git ref, read with git, never touching
the working tree, and parsed by the same pure pipeline as the files on disk.

One `git cat-file --batch` process per service, run in the service folder: it reads
the tree `REF:./deploy` (a path relative to that folder), then the blobs of its
*.yml files. Only when that tree is missing does a second call tell a service that did
not exist at REF from a REF that does not exist.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import IO

from skytrain.config.build import BASE_FILE, DEPLOY_DIR, ServiceFiles, display_path, parse_service
from skytrain.errors import UsageError


def read_service_at(ref: str, directory: Path) -> ServiceFiles | None:
    """The service's files at `ref`, or None when the service did not exist there."""
    if ref.startswith("-") or "\n" in ref:
        raise UsageError(f"--against {ref!r} is not a git ref")
    texts = _read_deploy_files(ref, directory)
    if texts is None:
        _check_ref(ref, directory)
        return None
    if BASE_FILE not in texts:
        return None
    return parse_service(f"{ref}:{display_path(directory)}", texts)


def _read_deploy_files(ref: str, directory: Path) -> dict[str, str] | None:
    """{file name: text} of deploy/*.yml at `ref`; None when there is no such folder."""
    try:
        process = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=directory,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError:
        raise UsageError("--against needs git, and git is not installed") from None
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(f"{ref}:./{DEPLOY_DIR}\n".encode())
        process.stdin.flush()
        kind, tree, id_size = _read_object(process.stdout)
        if kind != "tree":
            return None
        names = [(name, oid) for name, oid in _tree_entries(tree, id_size) if name.endswith(".yml")]
        process.stdin.write("".join(f"{oid}\n" for _, oid in names).encode())
        process.stdin.close()
        return {name: _read_object(process.stdout)[1].decode("utf-8", errors="replace") for name, _ in names}
    except (BrokenPipeError, ValueError):
        process.kill()
        raise UsageError(_failure(process, directory, ref)) from None
    finally:
        # git may have gone already (not a repository): what is left in the pipe's buffer is moot
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()


def _read_object(stream: IO[bytes]) -> tuple[str, bytes, int]:
    """One answer of `cat-file --batch`: (type, content, object id size in bytes)."""
    header = stream.readline().split()
    if len(header) == 2 and header[1] == b"missing":
        return "missing", b"", 0
    if len(header) != 3:
        raise ValueError("unexpected answer from git cat-file")
    size = int(header[2])
    content = stream.read(size + 1)[:size]
    return header[1].decode(), content, len(header[0]) // 2


def _tree_entries(tree: bytes, id_size: int) -> list[tuple[str, str]]:
    """(name, object id) of each entry of a raw tree object: `<mode> <name>\\0<id bytes>`
    (ids are 20 bytes in SHA-1 repositories, 32 in SHA-256 ones)."""
    entries, position = [], 0
    while position < len(tree):
        space = tree.index(b" ", position)
        nul = tree.index(b"\0", space)
        mode = tree[position:space]
        name = tree[space + 1 : nul].decode("utf-8", errors="replace")
        oid = tree[nul + 1 : nul + 1 + id_size].hex()
        if mode.startswith(b"100"):  # regular files only
            entries.append((name, oid))
        position = nul + 1 + id_size
    return entries


def _check_ref(ref: str, directory: Path) -> None:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=directory,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise UsageError(_failure(done, directory, ref))


def _failure(process: subprocess.Popen | subprocess.CompletedProcess, directory: Path, ref: str) -> str:
    stderr = process.stderr.read() if hasattr(process.stderr, "read") else process.stderr  # type: ignore[union-attr]
    text = (stderr or b"").decode(errors="replace").strip()
    if "not a git repository" in text:
        return f"--against {ref} needs {directory} to be inside a git repository"
    return (
        f"--against {ref}: no such commit, branch or tag in the git repository of {directory} "
        "(in CI, fetch it first, e.g. git fetch origin main)"
    )
