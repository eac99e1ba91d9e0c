"""The migration board: where every service of the fleet stands, per environment, as text,
markdown, JSON or one self-contained HTML page (html.py). Pure: standings in, text out."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from skytrain.migration.phases import ORDER, Standing

COLUMNS = ("service", "phase", "Marathon", "Kubernetes", "share", "last step", "next")


def by_environment(standings: Sequence[Standing]) -> dict[str, list[Standing]]:
    groups: dict[str, list[Standing]] = {}
    for standing in sorted(standings, key=lambda s: (s.seen.environment, s.seen.name)):
        groups.setdefault(standing.seen.environment, []).append(standing)
    return groups


def row(standing: Standing) -> tuple[str, ...]:
    seen = standing.seen
    step = f"{seen.last_step.what} at {seen.last_step.at}" if seen.last_step else ""
    return (
        seen.name,
        standing.label,
        str(seen.marathon) if seen.marathon else "-",
        str(seen.kubernetes) if seen.kubernetes else "-",
        f"{standing.share} %",
        step,
        standing.next_command,
    )


def summary(standings: Sequence[Standing]) -> str:
    counts = Counter(s.phase for s in standings)
    return ", ".join(f"{counts[p]} {p.value}" for p in ORDER if counts[p])


def text(standings: Sequence[Standing]) -> str:
    out = []
    for environment, group in by_environment(standings).items():
        rows = [COLUMNS, *(row(s) for s in group)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
        out.append(f"{environment}: {summary(group)}")
        for cells in rows:
            out.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "  " + cells[-1]
            )
        out += [f"  ! {s.seen.name}: {s.problem}" for s in group if s.problem]
        out += [f"  - {s.seen.name}: {note}" for s in group for note in s.notes]
        out.append("")
    return "\n".join(line.rstrip() for line in out)


def markdown(standings: Sequence[Standing]) -> str:
    out = []
    for environment, group in by_environment(standings).items():
        out += [f"## {environment}", "", summary(group), ""]
        out.append("| " + " | ".join(COLUMNS) + " |")
        out.append("|" + "---|" * len(COLUMNS))
        for standing in group:
            cells = list(row(standing))
            cells[-1] = f"`{cells[-1]}`" if cells[-1] else ""
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        problems = [f"- **{s.seen.name}**: {s.problem}" for s in group if s.problem]
        out += ["", *problems, ""] if problems else [""]
    return "\n".join(out)


def document(standings: Sequence[Standing]) -> dict[str, Any]:
    return {
        "environments": {
            environment: {"summary": summary(group), "services": [s.to_json() for s in group]}
            for environment, group in by_environment(standings).items()
        }
    }


def as_json(standings: Sequence[Standing]) -> str:
    return json.dumps(document(standings), indent=2) + "\n"
