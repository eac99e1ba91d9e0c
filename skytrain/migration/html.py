"""The migration board as one self-contained HTML page (pure): a table per environment
and the fleet's dependency graph coloured by phase. No script, no font, no image, no
stylesheet is fetched: the page works from a file, offline, and prints.

The graph is Graphviz's `dot` source (`graph_source`); the caller hands in a function that
renders it to SVG (skytrain.migration.live.graphviz), or returns None when Graphviz is not
installed, and the page then shows the edges as a plain table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from skytrain.migration.board import COLUMNS, by_environment, row, summary
from skytrain.migration.phases import ORDER, Phase, Standing

COLOURS = {
    Phase.ON_MARATHON: "#f4a261",
    Phase.DUAL: "#e9c46a",
    Phase.CANARY: "#8ecae6",
    Phase.CUT_OVER: "#219ebc",
    Phase.ON_KUBERNETES: "#2a9d8f",
    Phase.INCONSISTENT: "#e63946",
}
OUTSIDE = "#d9d9d9"  # a dependency that is not part of the fleet shown

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1d3557; background: #fff; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.25em; margin: 1.6em 0 .4em; }
p.summary { margin: 0 0 .8em; color: #457b9d; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1em; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #e0e0e0; vertical-align: top; }
th { background: #f1f4f8; }
.phase { display: inline-block; padding: .1em .6em; border-radius: .8em; color: #111; white-space: nowrap; }
.bar { width: 8em; height: .7em; background: #f4a261; border-radius: .35em; overflow: hidden; }
.bar span { display: block; height: 100%; background: #2a9d8f; }
code { font-size: .9em; background: #f6f6f6; padding: .1em .3em; }
td.problem { color: #e63946; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .6em; }
.graph svg { max-width: 100%; height: auto; }
"""


def page(standings: Sequence[Standing], render_svg: Callable[[str], str | None]) -> str:
    groups = by_environment(standings)
    body = [
        "<h1>Migration board</h1>",
        f'<p class="summary">{escape(summary(standings))}</p>',
        _legend(),
    ]
    for environment, group in groups.items():
        body.append(f"<h2>{escape(environment)}</h2>")
        body.append(f'<p class="summary">{escape(summary(group))}</p>')
        body.append(_table(group))
        svg = render_svg(graph_source(group, environment))
        body.append(f"<h3>Dependencies in {escape(environment)}</h3>")
        body.append(f'<div class="graph">{svg}</div>' if svg else _edges(group))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>skytrain migration board</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _legend() -> str:
    items = "".join(f"<li>{_badge(phase, phase.value)}</li>" for phase in ORDER)
    return f'<ul class="legend">{items}</ul>'


def _badge(phase: Phase, label: str) -> str:
    return f'<span class="phase" style="background:{COLOURS[phase]}">{escape(label)}</span>'


def _table(group: Sequence[Standing]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in COLUMNS)
    rows = []
    for standing in group:
        cells = row(standing)
        share = standing.share
        rows.append(
            "<tr>"
            f"<td>{escape(cells[0])}</td>"
            f"<td>{_badge(standing.phase, cells[1])}</td>"
            f"<td>{escape(cells[2])}</td><td>{escape(cells[3])}</td>"
            f'<td><div class="bar" title="{share} % to Kubernetes"><span style="width:{share}%"></span></div>'
            f"{share} %</td>"
            f"<td>{escape(cells[5])}</td>"
            f"<td>{f'<code>{escape(cells[6])}</code>' if cells[6] else ''}</td>"
            "</tr>"
        )
        if standing.problem:
            rows.append(f'<tr><td></td><td class="problem" colspan="6">{escape(standing.problem)}</td></tr>')
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _edges(group: Sequence[Standing]) -> str:
    rows = "".join(
        f"<tr><td>{escape(s.seen.name)}</td><td>{escape(', '.join(s.seen.dependencies) or '-')}</td></tr>"
        for s in group
    )
    return (
        "<p>Graphviz (<code>dot</code>) is not installed here, so the graph is a table "
        "(Debian: <code>apt-get install graphviz</code>).</p>"
        f"<table><tr><th>service</th><th>calls</th></tr>{rows}</table>"
    )


NEWLINE = "\\n"  # a line break inside a dot label


def _quoted(text: str) -> str:
    """A dot string. What goes in is a service name (a DNS label, checked by the schema),
    an environment name or skytrain's own words: a quote is the only thing to escape."""
    return '"' + text.replace('"', '\\"') + '"'


def graph_source(group: Sequence[Standing], environment: str) -> str:
    """The fleet's dependency graph in `dot`'s language: a service calls its dependencies."""
    names = {s.seen.name for s in group}
    lines = [
        f"digraph {_quoted(environment)} {{",
        '  graph [rankdir=LR, fontname="sans-serif", bgcolor="transparent"];',
        '  node [shape=box, style="rounded,filled", fontname="sans-serif"];',
        '  edge [color="#888888"];',
    ]
    for standing in group:
        label = _quoted(standing.seen.name + NEWLINE + standing.label)
        lines.append(
            f"  {_quoted(standing.seen.name)} [label={label}, fillcolor={_quoted(COLOURS[standing.phase])}];"
        )
    outside = sorted({d for s in group for d in s.seen.dependencies} - names)
    for name in outside:
        label = _quoted(name + NEWLINE + "(not in this fleet)")
        lines.append(f"  {_quoted(name)} [label={label}, fillcolor={_quoted(OUTSIDE)}];")
    for standing in group:
        for dependency in standing.seen.dependencies:
            lines.append(f"  {_quoted(standing.seen.name)} -> {_quoted(dependency)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
