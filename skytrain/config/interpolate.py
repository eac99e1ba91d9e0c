"""envtpl-style templating of config values (`{{ BUILD_TAG }}`), under the rules for untrusted files.

Strings are templated one at a time after the YAML is parsed (so a value can never
change the document's structure) and after overlays are merged (so a base value an
overlay replaces need not resolve). Undefined variables are errors, as in envtpl,
never empty strings.

The files are untrusted (docs/security.md), so every template, whichever path renders it:
- reads only the run's allowed variables (skytrain.config.variables): any other name is an
  error naming the allowed ones, and a variable whose value looks like a secret is never
  rendered;
- stays within the bounds of skytrain.config.template_limits: each value's size, and each
  file's output and time;
- is refused as a config error at its file:line:col whose message never holds a value.

Nearly every template in a service's files is `{{ VAR }}` or `{{ VAR | default('x') }}`;
those are substituted directly, with Jinja2's result, so that `skytrain validate` does not
pay ~20 ms to import Jinja2. Anything else goes to the sandbox (skytrain.config.sandbox),
imported on first use. A test holds the two paths to the same output.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from skytrain.config.template_limits import MAX_VALUE_CHARS, FileBudgets, Refused, check_size
from skytrain.config.variables import TemplateVariables
from skytrain.config.yamlfile import Positions, YamlPath
from skytrain.errors import ConfigError, field_path
from skytrain.secret_shapes import secret_kind

MARKERS = ("{{", "{%", "{#")
_UNDEFINED = re.compile(r"'([^']+)' is undefined")
# `{{ VAR }}` or `{{ VAR | default('text') }}` with an upper-case variable name (so never a
# Jinja2 keyword, literal or global) and a default without quotes or backslashes inside
_SIMPLE = re.compile(
    r"""\{\{\s*([A-Z_][A-Z0-9_]*)\s*(?:\|\s*default\(\s*(?:'([^'\\{}]*)'|"([^"\\{}]*)")\s*\)\s*)?\}\}"""
)
# exceptions whose messages speak of types and names the template wrote, never of values
_PLAIN_MESSAGES = (TypeError, ZeroDivisionError, OverflowError)


class _Undefined(Exception):
    def __init__(self, name: str):
        self.name = name


def simple_names(source: str) -> list[str] | None:
    """The variables of a template made only of `{{ VAR }}` / `{{ VAR | default('x') }}`
    parts, or None when it has anything else and needs Jinja2."""
    if "{%" in source or "{#" in source or "-}}" in source or "{{-" in source:
        return None
    remainder = _SIMPLE.sub("", source)
    if "{{" in remainder or "}}" in remainder:
        return None
    return [match.group(1) for match in _SIMPLE.finditer(source)]


def render_simple(source: str, values: Mapping[str, str]) -> str | None:
    """The value of a fast-path template (None when `simple_names` says it is not one).
    Raises _Undefined like StrictUndefined."""
    if simple_names(source) is None:
        return None

    def substitute(match: re.Match[str]) -> str:
        name, single, double = match.groups()
        if name in values:
            return values[name]
        fallback = single if single is not None else double
        if fallback is None:
            raise _Undefined(name)
        return fallback

    return _SIMPLE.sub(substitute, source)


def interpolate(
    data: Any,
    positions: Positions,
    variables: TemplateVariables,
    errors: list[ConfigError],
    path: YamlPath = (),
    budgets: FileBudgets | None = None,
) -> Any:
    """`data` with every template filled in; each refused template adds one error and keeps
    its text. One call is one environment's document: the file budgets are its own."""
    budgets = FileBudgets() if budgets is None else budgets
    if isinstance(data, dict):
        return {k: interpolate(v, positions, variables, errors, (*path, k), budgets) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate(v, positions, variables, errors, (*path, i), budgets) for i, v in enumerate(data)]
    if not isinstance(data, str) or not any(m in data for m in MARKERS):
        return data
    where = positions.of_value(path)
    if data not in variables.rendered:
        variables.rendered[data] = _render(data, variables, budgets, where.file)
    text, refusal = variables.rendered[data]
    if text is not None:
        try:
            budgets.spend_chars(where.file, len(text))
            return text
        except Refused as exc:
            refusal = str(exc)
    errors.append(ConfigError(where, field_path(path), refusal or "template refused"))
    return data


def _render(
    source: str, variables: TemplateVariables, budgets: FileBudgets, file: str
) -> tuple[str | None, str | None]:
    """(the template's text, None), or (None, why it was refused): kept for the other
    environments that share the value, so that it runs once per run."""
    started = time.monotonic()
    try:
        names = simple_names(source)
        if names is not None:
            values = read_variables(names, variables)
            return check_size(render_simple(source, values) or "", "this template renders a value"), None
        deadline = budgets.deadline(file)
        from skytrain.config import sandbox

        _, referenced = sandbox.compiled(source)
        context: dict[str, Any] = {**read_variables(referenced, variables)}
        context["environment"] = _environment_global(variables)
        return sandbox.render(source, context, deadline), None
    except Exception as exc:  # every failure of a template is its error, never a traceback
        return None, _message(exc)
    finally:
        budgets.spend_time(file, started)


def read_variables(names: Iterable[str], variables: TemplateVariables) -> dict[str, str]:
    """The values of `names` that are set; Refused for a name that is not allowed or a value
    that looks like a secret or is too long. An allowed name that is not set is left out, so
    that it is undefined (an error unless the template gives a default)."""
    refused = sorted(set(names) - variables.allowed)
    if refused:
        which = " and ".join(refused) if len(refused) < 3 else ", ".join(refused)
        verb = "is not a variable" if len(refused) == 1 else "are not variables"
        raise Refused(f"{which} {verb} templates may read; {variables.describe()}")
    return {name: checked_value(name, variables.values[name]) for name in names if name in variables.values}


def checked_value(name: str, value: str) -> str:
    """A variable's value, if a template may render it."""
    kind = secret_kind(name, value)
    if kind is not None:
        raise Refused(
            f"the value of {name} looks like a secret ({kind}), so no template renders it; secrets are "
            "referenced under secrets:, never filled in"
        )
    if len(value) > MAX_VALUE_CHARS:
        raise Refused(
            f"the value of {name} is longer than {MAX_VALUE_CHARS // 1024} KiB; templates fill in short values"
        )
    return value


def _environment_global(variables: TemplateVariables) -> Callable[[str], dict[str, str]]:
    def environment(prefix: str = "") -> dict[str, str]:
        """envtpl's `environment(prefix)`, over the allowed variables only: those set whose
        name starts with prefix, prefix removed."""
        return {
            name[len(prefix) :]: checked_value(name, value)
            for name, value in sorted(variables.values.items())
            if name.startswith(prefix)
        }

    environment.template_global = True  # type: ignore[attr-defined]
    return environment


def _message(exc: Exception) -> str:
    """The sentence for a refused template: never a value, only what the template wrote."""
    if isinstance(exc, _Undefined):
        return _undefined(exc.name)
    if isinstance(exc, Refused):
        return str(exc)
    import jinja2

    if isinstance(exc, jinja2.UndefinedError):
        match = _UNDEFINED.fullmatch(str(exc))
        return _undefined(match.group(1)) if match else f"template failed: {exc}"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"template error: {(exc.message or '').rstrip('.')}; check the {{{{ }}}} braces"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"template refused by the sandbox: {exc}".rstrip(".")
    if isinstance(exc, json.JSONDecodeError):
        return f"template failed: from_json was given text that is not JSON ({exc.msg})"
    if isinstance(exc, RecursionError):
        return "template refused: it is nested too deeply"
    if isinstance(exc, MemoryError):
        return "template refused: it needs too much memory"
    if isinstance(exc, (jinja2.TemplateError, *_PLAIN_MESSAGES)):
        return f"template failed: {exc}"
    return f"template failed: a {type(exc).__name__} (the message is not shown: it may hold a value)"


def _undefined(name: str) -> str:
    return (
        f"the variable {name} is not set; set it in the environment or with --set {name}=VALUE, or give a "
        f"fallback such as {{{{ {name} | default('latest') }}}}"
    )
