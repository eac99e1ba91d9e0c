"""Every file skytrain writes (`render -o`, `routes --out`, `--junit`, NGINX configs): checked
before any work starts, written whole or not at all, and never through a planted link.

A pull-request build runs skytrain inside a checkout the pull request wrote. A symbolic
link in it (`reports -> /home/ci/.ssh`) would turn `--junit reports/x.xml` into a write
outside the repository. So a link on the way to an output is refused when it lies inside
the current directory (where a checkout's files are); links above it (the agent's own
layout, e.g. a workspace folder that is a link) are the platform's and are followed. The
output itself is never a link, and is written to a temporary file in the same folder and
renamed over the target, so a reader sees the old file or the new one, never half of one,
and a link put there in between is replaced, not followed.

Problems are found up front (`check_file`, `check_directory`), so that a command that
deploys says "cannot write --junit" before it sends anything to a scheduler.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from skytrain.errors import UsageError


def check_file(path: Path, option: str) -> None:
    """Raise UsageError, one sentence, unless a file can be written at `path`."""
    target = _absolute(path)
    _refuse(target, option, path, final_is_file=True)
    _probe(target.parent, option, path)


def check_directory(path: Path, option: str) -> None:
    """Raise UsageError unless files can be written in folder `path` (created if missing)."""
    target = _absolute(path)
    _refuse(target, option, path, final_is_file=False)
    _probe(target, option, path)


def write_file(path: Path, data: str | bytes, option: str = "output") -> None:
    """Write `data` to `path` atomically (temporary file, fsync, rename), never through a link."""
    import tempfile  # here, not at the top: most runs write nothing, and it costs every start ~1.5 ms

    target = _absolute(path)
    _refuse(target, option, path, final_is_file=True)
    content = data.encode("utf-8") if isinstance(data, str) else data
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _absolute(path: Path) -> Path:
    """`path` made absolute with `..` removed as written, so that the folders checked are
    the folders written to (`link/../x` would otherwise pass through `link`)."""
    return Path(os.path.abspath(path))


def _refuse(target: Path, option: str, given: Path, final_is_file: bool) -> None:
    here = Path.cwd()
    current = Path(target.anchor)
    for part in target.parts[1:]:
        current = current / part
        last = current == target
        if current.is_symlink():
            if last or _inside(current.parent, here):
                shown = "it" if last else str(_shown(current, here))
                raise UsageError(
                    f"{option} {given}: {shown} is a symbolic link, and skytrain does not write through links "
                    "inside the working directory (a checkout can bring one); remove it or choose another path"
                )
            continue
        if not current.exists():
            return
        if not last and not current.is_dir():
            raise UsageError(
                f"{option} {given}: {_shown(current, here)} is a file, so nothing can be written inside it"
            )
        if last and final_is_file and not current.is_file():
            what = "a folder; give a file name inside it" if current.is_dir() else "not a regular file"
            raise UsageError(f"{option} {given}: this is {what}")
        if last and not final_is_file and not current.is_dir():
            raise UsageError(f"{option} {given}: this is a file, not a folder; give a folder to write into")


def _probe(folder: Path, option: str, given: Path) -> None:
    """Create (and remove) a file in `folder`, or in its nearest existing parent when it is
    still to be made, as the write will: permissions and a read-only file system show now
    rather than after a deploy, and a command that fails later leaves nothing behind."""
    import tempfile

    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".skytrain-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {given}: cannot write there ({exc.strerror})") from None


def _inside(folder: Path, here: Path) -> bool:
    try:
        return folder.resolve().is_relative_to(here)
    except (OSError, RuntimeError):
        return True  # unresolvable: treat as the checkout's, the safe side


def _shown(path: Path, here: Path) -> Path:
    return path.relative_to(here) if path.is_relative_to(here) else path


@cache
def _umask() -> int:
    """The process's umask (only readable by setting it), so outputs get the usual modes."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
