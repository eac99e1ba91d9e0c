"""The terminal format: a unified diff of each object's YAML, coloured as --color says (skytrain.terminal).

Both sides are dumped with sorted keys, so the server's key order never shows as a
change; the YAML is of the normalised, redacted objects, so neither server noise nor
a secret can appear.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import yaml

from skytrain.diff.compare import Action, DiffResult, ObjectDiff
from skytrain.diff.normalise import Obj
from skytrain.schedulers import scheduler
from skytrain.wording import place

NO_RESTART = "no restart"
SIGNS = {Action.ADDED: "+", Action.CHANGED: "~", Action.REMOVED: "-", Action.UNCHANGED: "="}
_COLOURS = {"+": "\033[32m", "-": "\033[31m", "@": "\033[36m", "~": "\033[33m", "#": "\033[1m"}
_RESET = "\033[0m"


def to_yaml(obj: Obj | None) -> list[str]:
    if obj is None:
        return []
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(obj, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)


def side_labels(result: DiffResult) -> tuple[str, str]:
    if result.against.startswith("git:"):
        return result.against[len("git:") :], "working tree"
    return "live", "desired"


def unified(result: DiffResult, diff: ObjectDiff) -> list[str]:
    """The object's diff lines, without trailing newlines."""
    old, new = side_labels(result)
    lines = difflib.unified_diff(to_yaml(diff.live), to_yaml(diff.desired), old, new, n=3)
    return [line.rstrip("\n") for line in lines]


def restart_note(result: DiffResult, diff: ObjectDiff) -> str:
    if diff.action != Action.CHANGED:
        return ""
    if diff.restarts:
        return scheduler(result.target).restart_words
    return NO_RESTART


def heading(result: DiffResult) -> str:
    against = "live state" if result.against == "live" else result.against[len("git:") :]
    counts = ", ".join(f"{n} {a}" for a, n in result.summary().items() if n)
    where = place(result.environment, result.app, result.target)
    return f"{where} (against {against}): {counts or 'nothing rendered or running'}"


def object_heading(result: DiffResult, diff: ObjectDiff) -> str:
    note = restart_note(result, diff)
    return f"{SIGNS[diff.action]} {diff.title} ({diff.action.value}{', ' + note if note else ''})"


def format_text(results: Sequence[DiffResult], colour: bool = False) -> str:
    lines: list[str] = []
    for result in results:
        lines.append("# " + heading(result))
        for diff in result.objects:
            if diff.action == Action.UNCHANGED:
                continue
            lines.append(object_heading(result, diff))
            lines.extend(unified(result, diff))
        if not result.changed:
            lines.append("  no changes")
        lines.append("")
    return "\n".join(_paint(line) if colour else line for line in lines)


def _paint(line: str) -> str:
    if line.startswith(("+++", "---")):
        return f"\033[1m{line}{_RESET}"
    colour = _COLOURS.get(line[:1])
    return f"{colour}{line}{_RESET}" if colour else line
