"""The migration board as one HTML page: opened in a real headless browser (Debian's
chromium) it loads without a console message, fetches nothing, and its screenshot shows
the tables and the dependency graph drawn by Graphviz (a plain table without it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from skytrain.migration.html import page
from skytrain.migration.phases import Copies, Seen, stand
from tests.support import require, require_tool

from .world import ENV

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)


def chromium(page_file: Path, tmp: Path, *what: str) -> subprocess.CompletedProcess[str]:
    """One headless chromium run on the page, with a fresh profile."""
    binary = require(shutil.which("chromium"), "chromium", "chromium")
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *what, page_file.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )


def console(run: subprocess.CompletedProcess[str]) -> list[str]:
    """What the page said on its console (chromium logs every console message and uncaught
    error as INFO:CONSOLE with --enable-logging=stderr)."""
    return [line for line in run.stderr.splitlines() if ":CONSOLE" in line]


def screenshot(page_file: Path, tmp: Path) -> tuple[Image.Image, list[str]]:
    shot = tmp / "shot.png"
    run = chromium(page_file, tmp, "--window-size=1280,1000", f"--screenshot={shot}")
    assert shot.is_file(), run.stderr[-2000:]
    return Image.open(shot).convert("RGB"), console(run)


def test_the_board_loads_in_chromium_without_a_console_message_and_is_not_blank(deployed, capsys, tmp_path):
    require_tool("dot", "graphviz")
    deployed.set_share("giphy", 25)
    board = tmp_path / "board.html"
    code = deployed.skytrain(
        "migrate", "status", "--fleet", deployed.fleet, "--env", ENV, "--format", "html", "-o", board
    )
    assert code == 0
    assert f"wrote {board}: 1 on Marathon, 1 canary, 1 on Kubernetes" in capsys.readouterr().out
    html = board.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html), "the page fetches nothing"
    assert "<script" not in html and "<svg" in html

    image, said = screenshot(board, tmp_path)
    assert said == []
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "a page of text, badges and a graph has many colours"
    inked = Image.eval(image.convert("L"), lambda v: 255 if v < 200 else 0).getbbox()
    assert inked is not None and inked[2] - inked[0] > 600 and inked[3] - inked[1] > 300

    dom = chromium(board, tmp_path, "--dump-dom")
    assert console(dom) == []
    for text in ("giphy", "canary 25 %", "organization", "on Marathon", "media", "on Kubernetes"):
        assert text in dom.stdout
    assert dom.stdout.count('<g id="node') >= 3, "dot drew a node per service"


def test_the_check_sees_a_page_that_errs(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><p>x</p><script>throw new Error("boom")</script>')
    _, said = screenshot(bad, tmp_path)
    assert any("Uncaught Error: boom" in line for line in said)


def test_without_graphviz_the_graph_is_a_table():
    ready = Copies(2, 2, True)
    standings = [
        stand(Seen("giphy", ENV, "services/giphy", True, True, ready, ready, 25, dependencies=("media",))),
        stand(Seen("media", ENV, "services/media", False, True, None, ready, None)),
    ]
    html = page(standings, lambda source: None)
    assert "<svg" not in html and "apt-get install graphviz" in html
    assert "<tr><td>giphy</td><td>media</td></tr>" in html
    assert '<span class="phase" style="background:#8ecae6">canary 25 %</span>' in html
