"""The board's graph drawn by Graphviz's `dot` (Debian: graphviz), as SVG to inline in the
page; None when `dot` is not installed, so the board shows a plain table instead."""

from __future__ import annotations

import re
import shutil
import subprocess

from skytrain.errors import OperationFailed

TIMEOUT = 30.0
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)  # the XML declaration, doctype and comments before <svg


def render_svg(source: str) -> str | None:
    binary = shutil.which("dot")
    if binary is None:
        return None
    done = subprocess.run(
        [binary, "-Tsvg"], input=source, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise OperationFailed(
            f"dot refused the board's graph (a skytrain bug, please report it): {done.stderr.strip()}"
        )
    return _PROLOGUE.sub("", done.stdout, count=1)
