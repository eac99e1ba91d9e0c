"""envtpl-style templating of config values: `{{ BUILD_TAG }}` from the process environment.

Strings are templated one at a time after the YAML is parsed (so a value can never
change the document's structure) and after overlays are merged (so a base value an
overlay replaces need not resolve). Undefined variables are errors, as in envtpl,
never empty strings. Jinja2 with StrictUndefined gives envtpl's semantics without its
habit of deleting the template file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from skytrain.config.yamlfile import Positions, YamlPath
from skytrain.errors import ConfigError, field_path

_MARKERS = ("{{", "{%", "{#")
_UNDEFINED = re.compile(r"'([^']+)' is undefined")


def _environment_global(environ: Mapping[str, str]):
    def environment(prefix: str = "") -> dict[str, str]:
        """envtpl's `environment(prefix)`: variables starting with prefix, prefix removed."""
        return {k[len(prefix) :]: v for k, v in environ.items() if k.startswith(prefix)}

    return environment


@lru_cache(maxsize=1)
def _jinja() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["from_json"] = json.loads
    return env


@lru_cache(maxsize=4096)
def _template(source: str) -> jinja2.Template:
    return _jinja().from_string(source)


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
    context = {**environ, "environment": _environment_global(environ)}
    where = positions.of_value(path)
    try:
        return _template(data).render(context)
    except jinja2.UndefinedError as exc:
        match = _UNDEFINED.search(str(exc))
        name = match.group(1) if match else str(exc)
        errors.append(
            ConfigError(
                where,
                field_path(path),
                f"the environment variable {name} is not set; set it, or give a fallback "
                f"such as {{{{ {name} | default('latest') }}}}",
            )
        )
    except jinja2.TemplateSyntaxError as exc:
        errors.append(
            ConfigError(where, field_path(path), f"template error: {exc.message}; check the {{{{ }}}} braces")
        )
    except Exception as exc:  # a filter raising on bad input, e.g. from_json on non-JSON
        errors.append(ConfigError(where, field_path(path), f"template failed: {exc}"))
    return data
