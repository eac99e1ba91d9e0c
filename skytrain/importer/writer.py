"""The YAML of the imported files: deterministic (the same input gives the same bytes),
commented, and read back by skytrain exactly as written.

The data is written by libyaml through PyYAML, the library skytrain reads deploy files
with (skytrain.config.yamlfile), so whatever it would read as something else (yes, on,
0755, 1_000, a trailing space) is quoted by the same rules that read it. (ruamel.yaml writes
comments itself, but its pure-Python emitter took 0.23 s of a 0.33 s import of the corpus,
against 0.03 s here; the comments needed are few and fixed.) The comments are
the writer's own: a header, and one at the end of a top-level key's line (top-level keys
are the only lines that start at column 0). A string that holds template syntax is wrapped
in Jinja's raw block, so that it is read as the text it is and never run as a template.
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    _Dumper: type = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    _Dumper = yaml.SafeDumper

TEMPLATE_MARKERS = ("{{", "{%", "{#")


def _escaped(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS):
        return "{% raw %}" + value + "{% endraw %}"
    return value


def _one_line(value: Any) -> bool:
    """Whether a comment after the key's line lands after the value, not inside it."""
    return not isinstance(value, str) or "\n" not in value


def yaml_text(data: dict[str, Any], header: list[str], comments: dict[str, str]) -> str:
    """`data` as YAML under `header` (comment lines), with `comments` after their top-level keys."""
    lines = [f"# {line}".rstrip() for line in header]
    if data:
        body = yaml.dump(
            _escaped(data),
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
        )
        for line in body.splitlines():
            key = line.split(":", 1)[0] if line[:1] not in (" ", "-", "") else None
            comment = comments.get(key) if key in data and _one_line(data[key]) else None
            lines.append(f"{line}  # {comment}" if comment else line)
    return "\n".join(lines) + "\n"
