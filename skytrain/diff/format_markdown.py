"""The pull-request format: a summary table per environment and target, then one
collapsible block per changed object, kept under a size limit a PR comment accepts.

GitHub refuses comments over 65,536 characters; the default limit leaves room for a
bot's own header. Blocks that do not fit are left out whole, and a note says how many
and how to see them, so a reviewer never reads a silently cut diff.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from skytrain.diff.compare import Action, DiffResult, ObjectDiff
from skytrain.diff.format_text import restart_note, side_labels, unified

DEFAULT_LIMIT = 60_000
TITLE = "### skytrain diff"
COLUMNS = ("environment", "target", "app", "against", "added", "changed", "removed", "unchanged", "restarts")


def format_markdown(results: Sequence[DiffResult], limit: int = DEFAULT_LIMIT) -> str:
    head = "\n".join([TITLE, "", *table(results), ""]) + "\n"
    blocks = [block(r, d) for r in results for d in r.objects if d.action != Action.UNCHANGED]
    if not blocks:
        return head + "No changes.\n"
    if len(head) + sum(len(text) for text in blocks) <= limit:
        return head + "".join(blocks)
    budget = limit - len(head) - len(truncation_note(len(blocks), len(blocks), limit))
    body, shown = "", 0
    for text in blocks:
        if len(body) + len(text) > budget:
            break
        body += text
        shown += 1
    return head + body + truncation_note(shown, len(blocks), limit)


def table(results: Sequence[DiffResult]) -> list[str]:
    rows = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join([" --- "] * 4 + [" ---: "] * 4 + [" --- "]) + "|",
    ]
    for r in results:
        counts = [str(r.count(a)) for a in (Action.ADDED, Action.CHANGED, Action.REMOVED, Action.UNCHANGED)]
        against = "live" if r.against == "live" else f"`{side_labels(r)[0]}`"
        cells = [r.environment, r.target, r.app, against, *counts, "yes" if r.restarts else "no"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def block(result: DiffResult, diff: ObjectDiff) -> str:
    note = restart_note(result, diff)
    summary = (
        f"{html.escape(result.environment)} · {result.target} · <b>{diff.action.value}</b> "
        f"<code>{html.escape(diff.title)}</code>{' — ' + note if note else ''}"
    )
    text = "\n".join(unified(result, diff))
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"<details>\n<summary>{summary}</summary>\n\n{fence}diff\n{text}\n{fence}\n\n</details>\n\n"


def truncation_note(shown: int, total: int, limit: int) -> str:
    return (
        f"> **Truncated:** {total - shown} of {total} object diffs are not shown, to keep this comment "
        f"under {limit:,} characters. The table above counts them all; run `skytrain diff` locally "
        "(text format) to see every change.\n"
    )


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)
