"""A service's deploy/ files as they were at a git ref, read with git, never touching
the working tree, and parsed by the same pure pipeline as the files on disk.

One `git cat-file --batch` process per repository, kept for the run (starting git costs
~1.3 ms, an answer ~0.1 ms: a fleet's diff would spend most of its time starting git): it
reads the tree `REF:<service folder>`, then its deploy/ tree and the blobs of its *.yml
files. Only when the folder is missing does a second call tell a service that did not
exist at REF from a REF that does not exist. What is at REF is as untrusted as the
working tree: a symbolic link is followed only inside the service folder, and a file
over the size limit is dropped unread.
"""

from __future__ import annotations

import atexit
import contextlib
import posixpath
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from skytrain.config.build import BASE_FILE, DEPLOY_DIR, ServiceFiles, display_path, parse_service
from skytrain.config.limits import current as current_limits
from skytrain.config.yamlfile import too_large
from skytrain.errors import ConfigError, ConfigErrors, Location, UsageError


def read_service_at(ref: str, directory: Path) -> ServiceFiles | None:
    """The service's files at `ref`, or None when the service did not exist there."""
    if ref.startswith("-") or "\n" in ref:
        raise UsageError(f"--against {ref!r} is not a git ref")
    shown = f"{ref}:{display_path(directory)}"
    found = _read_deploy_files(ref, directory, f"{shown}/{DEPLOY_DIR}")
    if found is None:
        _check_ref(ref, directory)
        return None
    texts, errors = found
    if errors:
        raise ConfigErrors(errors)
    if BASE_FILE not in texts:
        return None
    return parse_service(shown, texts)


# git tree entry modes
_TREE = b"40000"
_LINK = b"120000"
# links followed one after the other before giving up (git's own limit for --follow-symlinks)
_MAX_HOPS = 40


@dataclass(frozen=True)
class _Entry:
    mode: bytes
    oid: str


class _Repository:
    """One `git cat-file --batch` conversation: trees and blobs by id, one at a time."""

    def __init__(self, process: subprocess.Popen[bytes]):
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self.id_size = 20  # bytes; 32 in a SHA-256 repository, learnt from each answer
        self.lock = threading.Lock()  # one question and its answer at a time

    def close(self) -> None:
        # git may have gone already (not a repository): what is left in the pipe's buffer is moot
        with contextlib.suppress(BrokenPipeError):
            self._stdin.close()
        self.process.wait()

    def ask(self, name: str, max_size: int | None = None) -> tuple[str, bytes | None]:
        """(type, content) of an object; content None when it is over `max_size` (then it
        is read and dropped in pieces, never held whole)."""
        self._stdin.write(f"{name}\n".encode())
        self._stdin.flush()
        header = self._stdout.readline().split()
        if len(header) == 2 and header[1] == b"missing":
            return "missing", b""
        if len(header) != 3:
            raise ValueError("unexpected answer from git cat-file")
        self.id_size = len(header[0]) // 2
        size = int(header[2])
        if max_size is not None and size > max_size:
            left = size + 1  # and the newline after it
            while left > 0:
                chunk = self._stdout.read(min(left, 1 << 20))
                if not chunk:
                    raise ValueError("git cat-file stopped in the middle of an object")
                left -= len(chunk)
            return header[1].decode(), None
        return header[1].decode(), self._stdout.read(size + 1)[:size]

    def tree(self, name: str) -> dict[str, _Entry] | None:
        """The entries of a tree (by id or `REF:path`); None when it is not a tree."""
        kind, content = self.ask(name)
        return _tree_entries(content or b"", self.id_size) if kind == "tree" else None


def _read_deploy_files(
    ref: str, directory: Path, prefix: str
) -> tuple[dict[str, str], list[ConfigError]] | None:
    """({file name: text}, errors) of deploy/*.yml at `ref`; None when there is no such folder.

    A symbolic link is followed only while it stays inside the service folder at `ref`,
    resolved here from git's own trees (never through the working tree or the file system)."""
    top, inside = _repository_of(directory)
    repository = _conversation(top)
    try:
        with repository.lock:
            root = repository.tree(f"{ref}:{inside}")
            if root is None:
                return None
            deploy = _resolve(repository, root, [DEPLOY_DIR])
            if isinstance(deploy, str):
                return {}, [
                    ConfigError(Location(prefix, 1, 1), "(top level)", deploy.replace("file", "folder", 1))
                ]
            if deploy is None or deploy.mode != _TREE:
                return None
            return _read_files(repository, root, repository.tree(deploy.oid) or {}, prefix)
    except (BrokenPipeError, ValueError):
        _forget(top)
        repository.process.kill()
        repository.close()
        raise UsageError(_failure(repository.process, directory, ref)) from None


def _repository_of(directory: Path) -> tuple[Path, str]:
    """(the folder to run git in, the service folder's path from there as `REF:<path>` wants
    it): the work tree's top when `directory` is in one, else `directory` itself with `./`
    (git then says why it cannot answer)."""
    service = directory.resolve()
    for folder in (service, *service.parents):
        if (folder / ".git").exists():
            return folder, "" if folder == service else service.relative_to(folder).as_posix()
    return service, "./"


_OPEN: dict[Path, _Repository] = {}
_OPEN_LOCK = threading.Lock()
_MOST_OPEN = 4  # repositories a run reads at once: a diff reads one; the oldest is closed


def _conversation(top: Path) -> _Repository:
    with _OPEN_LOCK:
        if top in _OPEN:
            return _OPEN[top]
        try:
            process = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=top,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError:
            raise UsageError("--against needs git, and git is not installed") from None
        oldest = _OPEN.pop(next(iter(_OPEN))) if len(_OPEN) >= _MOST_OPEN else None
        _OPEN[top] = opened = _Repository(process)
    if oldest is not None:
        with oldest.lock:  # once its current question is answered
            oldest.close()
    return opened


def _forget(top: Path) -> None:
    with _OPEN_LOCK:
        _OPEN.pop(top, None)


@atexit.register
def _close_all() -> None:
    with _OPEN_LOCK:
        while _OPEN:
            _OPEN.popitem()[1].close()


def _read_files(
    repository: _Repository, root: dict[str, _Entry], deploy: dict[str, _Entry], prefix: str
) -> tuple[dict[str, str], list[ConfigError]]:
    texts: dict[str, str] = {}
    errors: list[ConfigError] = []
    limits = current_limits()
    for name in sorted(n for n in deploy if n.endswith(".yml")):
        where = Location(f"{prefix}/{name}", 1, 1)
        found = _resolve(repository, root, [DEPLOY_DIR, name])
        if isinstance(found, str):
            errors.append(ConfigError(where, "(top level)", found))
            continue
        if found is None or not found.mode.startswith(b"100"):
            continue  # a folder, a submodule or a dangling link: not a file skytrain reads
        kind, content = repository.ask(found.oid, limits.max_bytes)
        if content is None:
            errors.append(too_large(where.file, limits))
        elif kind == "blob":
            texts[name] = content.decode("utf-8", errors="replace")
    return texts, errors


def _resolve(
    repository: _Repository, root: dict[str, _Entry], parts: list[str], hops: int = 0
) -> _Entry | str | None:
    """The entry at `parts` below the service folder, links followed while they stay inside
    it; a sentence when a link leads outside; None when nothing is there."""
    tree, entry = root, None
    for index, part in enumerate(parts):
        entry = tree.get(part) if tree is not None else None
        if entry is None:
            return None
        if entry.mode == _LINK:
            if hops >= _MAX_HOPS:
                return "this file is a loop of symbolic links at that ref"
            kind, target = repository.ask(entry.oid, 4096)
            text = (target or b"/").decode(errors="replace")
            inside = posixpath.normpath(posixpath.join(*parts[:index], text))
            if kind != "blob" or posixpath.isabs(inside) or inside == ".." or inside.startswith("../"):
                return (
                    "this file is a link to a place outside the service directory at that ref; skytrain "
                    "reads only files inside it, so replace the link with the file itself"
                )
            rest = [p for p in inside.split("/") if p not in ("", ".")]
            return _resolve(repository, root, [*rest, *parts[index + 1 :]], hops + 1)
        if index < len(parts) - 1:
            tree = repository.tree(entry.oid) if entry.mode == _TREE else None
    return entry


def _tree_entries(tree: bytes, id_size: int) -> dict[str, _Entry]:
    """{name: (mode, object id)} of a raw tree object: `<mode> <name>\\0<id bytes>` per entry
    (ids are 20 bytes in SHA-1 repositories, 32 in SHA-256 ones)."""
    entries, position = {}, 0
    while position < len(tree):
        space = tree.index(b" ", position)
        nul = tree.index(b"\0", space)
        name = tree[space + 1 : nul].decode("utf-8", errors="replace")
        entries[name] = _Entry(tree[position:space], tree[nul + 1 : nul + 1 + id_size].hex())
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
