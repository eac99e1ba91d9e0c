"""`make demo` end to end: `python -m skytrain.demo` as a fresh process, the way the Makefile
runs it, against its own emulators (and real NGINX when installed)."""

from __future__ import annotations

import subprocess
import sys

from skytrain.backends.nginx import find_nginx
from tests.support import ROOT, cli_env, require


def run_demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skytrain.demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=cli_env(),
        timeout=60,
    )


def test_the_demo_tells_the_whole_migration_and_exits_0():
    nginx = find_nginx()
    result = run_demo()
    out = result.stdout
    assert result.returncode == 0, out
    # 1. the fleet deployed, each gate passing, on the right schedulers
    for line in (
        "staging/organization on marathon: deployed",
        "staging/media on kubernetes: deployed",
        "staging/giphy on marathon: deployed",
        "staging/giphy on kubernetes: deployed",
    ):
        assert line in out
    assert out.count("gate passed after") >= 6
    # 2. no changes against live, then the new tag diffed (exit 3) and deployed
    assert "(against live state): 3 unchanged\n  no changes" in out
    assert "+    image: registry.example.com/giphy:1.1" in out
    assert "  (exit 3)" in out
    # 3. the cut-over and the fall-back, with the regenerated SDB config
    assert (
        "applied scale from 2 replicas to 0 replicas" in out
        and "applied scale from 0 replicas to 2 replicas" in out
    )
    assert "staging/giphy on marathon: scaled" in out
    assert "-    upstream skyline_mesos_giphy {" in out and "+    upstream skyline_mesos_giphy {" in out
    # 4. the crash loop fails fast with its evidence and is rolled back
    assert "staging/giphy on kubernetes: rolled-back" in out
    assert "CrashLoopBackOff" in out and "log giphy: panic: GIPHY_API_KEY is not set" in out
    assert "giphy on Kubernetes runs registry.example.com/giphy:1.1 again" in out
    assert "demo done in" in out and "unexpected" not in out
    require(nginx, "nginx", "nginx-light")  # the traffic part needs it (a skip here, a failure in CI)
    lines = out.splitlines()
    served = [line for line in lines if "20 requests to http://127.0.0.1:" in line]
    assert [line.rsplit(": ", 1)[1] for line in served] == [
        "20 from giphy@mesos",
        "20 from giphy@kubernetes",
        "20 from giphy@mesos",
    ]
