"""`make demo` end to end: `python -m skytrain.demo` as a fresh process, the way the Makefile
runs it, against its own emulators (and real NGINX when installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from skytrain.backends.nginx import find_nginx
from skytrain.demo import NO_NGINX
from tests.support import ROOT, cli_env, require, require_tool


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
    # 5. the crash loop fails fast with its evidence and is rolled back
    assert "staging/giphy on kubernetes: rolled-back" in out
    assert "CrashLoopBackOff" in out and "log giphy: panic: GIPHY_API_KEY is not set" in out
    assert "giphy on Kubernetes runs registry.example.com/giphy:1.1 again" in out
    assert "demo done in" in out and "unexpected" not in out
    require(nginx, "nginx", "nginx-light")  # the traffic part needs it (a skip here, a failure in CI)
    assert "nginx -t sdb.conf: ok" in out  # the mesh checked as generated
    lines = out.splitlines()
    served = [line for line in lines if "20 requests to http://127.0.0.1:" in line]
    assert [line.rsplit(": ", 1)[1] for line in served] == [
        "20 from giphy@mesos",  # 3. the cut-over by scale
        "20 from giphy@kubernetes",
        "20 from giphy@mesos",
        "20 from giphy@kubernetes",  # 4. migrate cutover, then fallback
        "20 from giphy@mesos",
    ]
    # 4. the guided move: each canary step passes, Marathon goes to 0 and comes back, the board says dual
    assert "$ skytrain migrate cutover examples/giphy --env staging --steps 20,50,100 --soak 0.3" in out
    steps = [line for line in lines if line.startswith("step ") and "probe requests" in line]
    assert [line.split(":")[0] for line in steps] == ["step 20 %", "step 50 %", "step 100 %"]
    assert all(line.endswith("— passed") and "0 failed for the caller" in line for line in steps)
    assert "Marathon scaled from 2 to 0 instances, gated\ndone: giphy is cut over" in out
    assert "skytrain migrate finish examples/giphy --env staging --yes" in out
    assert "Marathon scaled back to 2 instances, gated\ndone: giphy is back on Mesos" in out
    assert "the SDB was regenerated and reloaded for the shares: 20 %, 50 %, 100 %" in out
    assert "staging: 1 on Marathon, 1 dual, 1 on Kubernetes" in out
    assert "fell back to Mesos (2 instances)" in out, "the board shows the last step"


def test_make_demo_on_a_machine_without_nginx_skips_the_nginx_steps_and_exits_0(tmp_path):
    """`make demo` as on a fresh machine: nginx is nowhere on PATH (nor in an sbin beside it).
    The .venv the tests run in stands in for the one `make demo` would have made."""
    path = tmp_path / "bin"
    path.mkdir()
    (path / "make").symlink_to(require_tool("make"))
    venv = Path(sys.prefix)
    require(
        str(venv / "bin" / "skytrain") if (venv / "bin" / "skytrain").is_file() else None, "skytrain", "pip"
    )
    result = subprocess.run(
        [str(path / "make"), "--no-print-directory", "-o", f"{venv}/.installed", "demo", f"VENV={venv}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=cli_env(PATH=str(path)),
        timeout=120,
    )
    out = result.stdout
    assert result.returncode == 0, out
    assert out.count(NO_NGINX) == 2, "once for the cut-over by scale, once for migrate"
    assert (
        "=== 4. The same move, guided: skytrain migrate ===" in out and "skytrain migrate cutover" not in out
    )
    assert "install it (Debian: apt-get install nginx-light) and run make demo again" in NO_NGINX
    assert "--check" not in out and "nginx -t sdb.conf" not in out and "started real NGINX" not in out
    assert "staging/giphy on kubernetes: rolled-back" in out  # the rest of the story still ran
    assert "demo done in" in out and "unexpected" not in out
