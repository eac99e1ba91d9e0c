"""envtpl-style templating of config values: `{{ BUILD_TAG }}` from the process environment.

Strings are templated one at a time after the YAML is parsed (so a value can never
change the document's structure) and after overlays are merged (so a base value an
overlay replaces need not resolve). Undefined variables are errors, as in envtpl,
never empty strings. Jinja2 with StrictUndefined gives envtpl's semantics without its
habit of deleting the template file.

Nearly every template in a service's files is `{{ VAR }}` or `{{ VAR | default('x') }}`;
those are substituted directly, with Jinja2's result, so that `skytrain validate` does
not pay ~20 ms to import Jinja2. Anything else (filters, `environment()`, blocks) goes to
Jinja2, imported on first use. A test holds the two paths to the same output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from skytrain.config.yamlfile import Positions, YamlPath
from skytrain.errors import ConfigError, field_path

if TYPE_CHECKING:
    import jinja2

_MARKERS = ("{{", "{%", "{#")
_UNDEFINED = re.compile(r"'([^']+)' is undefined")
# `{{ VAR }}` or `{{ VAR | default('text') }}` with an upper-case variable name (so never a
# Jinja2 keyword, literal or global) and a default without quotes or backslashes inside
_SIMPLE = re.compile(
    r"""\{\{\s*([A-Z_][A-Z0-9_]*)\s*(?:\|\s*default\(\s*(?:'([^'\\{}]*)'|"([^"\\{}]*)")\s*\)\s*)?\}\}"""
)


class _Undefined(Exception):
    def __init__(self, name: str):
        self.name = name


def _environment_global(environ: Mapping[str, str]) -> Callable[[str], dict[str, str]]:
    def environment(prefix: str = "") -> dict[str, str]:
        """envtpl's `environment(prefix)`: variables starting with prefix, prefix removed."""
        return {k[len(prefix) :]: v for k, v in environ.items() if k.startswith(prefix)}

    return environment


@lru_cache(maxsize=1)
def _jinja() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["from_json"] = json.loads
    return env


@lru_cache(maxsize=4096)
def _template(source: str) -> jinja2.Template:
    return _jinja().from_string(source)


def render_simple(source: str, environ: Mapping[str, str]) -> str | None:
    """The value of a template made only of `{{ VAR }}` / `{{ VAR | default('x') }}` parts,
    or None when it has anything else and needs Jinja2. Raises _Undefined like StrictUndefined."""
    if "{%" in source or "{#" in source or "-}}" in source or "{{-" in source:
        return None

    def substitute(match: re.Match[str]) -> str:
        name, single, double = match.groups()
        if name in environ:
            return environ[name]
        fallback = single if single is not None else double
        if fallback is None:
            raise _Undefined(name)
        return fallback

    result = _SIMPLE.sub(substitute, source)
    remainder = _SIMPLE.sub("", source)
    return None if "{{" in remainder or "}}" in remainder else result


def interpolate(
    data: Any,
    positions: Positions,
    environ: Mapping[str, str],
    errors: list[ConfigError],
    path: YamlPath = (),
) -> Any:
    if isinstance(data, dict):
        return {k: interpolate(v, positions, environ, errors, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, positions, environ, errors, (*path, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or not any(m in data for m in _MARKERS):
        return data
    try:
        simple = render_simple(data, environ)
    except _Undefined as exc:
        errors.append(_undefined(positions.of_value(path), path, exc.name))
        return data
    return simple if simple is not None else _render_jinja(data, positions, environ, errors, path)


def _undefined(where: Any, path: YamlPath, name: str) -> ConfigError:
    return ConfigError(
        where,
        field_path(path),
        f"the environment variable {name} is not set; set it, or give a fallback "
        f"such as {{{{ {name} | default('latest') }}}}",
    )


def _render_jinja(
    data: str, positions: Positions, environ: Mapping[str, str], errors: list[ConfigError], path: YamlPath
) -> str:
    import jinja2

    context = {**environ, "environment": _environment_global(environ)}
    where = positions.of_value(path)
    try:
        return _template(data).render(context)
    except jinja2.UndefinedError as exc:
        match = _UNDEFINED.search(str(exc))
        errors.append(_undefined(where, path, match.group(1) if match else str(exc)))
    except jinja2.TemplateSyntaxError as exc:
        errors.append(
            ConfigError(
                where,
                field_path(path),
                f"template error: {(exc.message or '').rstrip('.')}; check the {{{{ }}}} braces",
            )
        )
    except Exception as exc:  # a filter raising on bad input, e.g. from_json on non-JSON
        errors.append(ConfigError(where, field_path(path), f"template failed: {exc}"))
    return data
