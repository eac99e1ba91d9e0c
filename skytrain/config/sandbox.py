"""The Jinja2 sandbox templates in a service's files run in (imported only when a template
is more than `{{ VAR }}`; skytrain.config.interpolate decides).

Jinja2's ImmutableSandboxedEnvironment keeps a template away from Python's internals
(`cycler.__init__.__globals__`, `''.__class__`). On top of it:

- checked before running: no macros, blocks, includes, imports, `{% set %}...{% endset %}`
  or `{% filter %}` (nothing a config value needs, and each a way around the checks below);
  no attribute or key starting with `_`; only the filters of FILTERS; the names a template
  reads are returned for the caller to allow or refuse;
- globals: only `range` (at most MAX_RANGE items) and the caller's `environment(prefix)`;
- every value a template builds stays under MAX_VALUE_CHARS: `+`, `*`, `~`, `**` (by bits),
  join and replace are checked before they allocate, filters and method calls after, and
  `%`-formatting and `str.format`, whose width specs allocate inside one C call, are refused;
- only a short list of methods may be called (METHODS);
- the output is collected piece by piece against the value's limit, and the time spent is
  checked every 1024 lines the template runs (a trace function on the template's own code
  only, so the cost is paid only here), against the file's deadline.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache, wraps
from types import FrameType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from skytrain.config.template_limits import (
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_VALUE_CHARS,
    Refused,
    check_size,
    out_of_time,
    size_of,
    too_large,
)

FILTERS = (
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "sum",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
)
METHODS: Mapping[type, frozenset[str]] = {
    str: frozenset(
        [
            "capitalize",
            "casefold",
            "count",
            "endswith",
            "find",
            "isalnum",
            "isalpha",
            "isdigit",
            "islower",
            "isupper",
            "join",
            "lower",
            "lstrip",
            "partition",
            "removeprefix",
            "removesuffix",
            "replace",
            "rfind",
            "rpartition",
            "rsplit",
            "rstrip",
            "split",
            "splitlines",
            "startswith",
            "strip",
            "title",
            "upper",
        ]
    ),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    LoopContext: frozenset({"changed", "cycle"}),
}
# statements a config value never needs, and each a way to build or repeat output the
# checks would not see
_REFUSED_STATEMENTS = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.AssignBlock: "{% set %}...{% endset %}",
    nodes.FilterBlock: "{% filter %}",
}
# filters whose positional arguments may name an attribute to read
_ATTRIBUTE_FILTERS = frozenset({"max", "min", "rejectattr", "selectattr", "sort", "sum", "unique"})
_LINES_BETWEEN_CLOCK_CHECKS = 1024


def template_range(*args: int) -> range:
    """range() with at most MAX_RANGE items."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise Refused(f"range() here would have more than {MAX_RANGE} items; templates loop over little")
    return numbers


class _Generator(CodeGenerator):
    """Compiles `a ~ b` to a checked join: the sandbox has no hook for concatenation."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")


class Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "%":
            if isinstance(left, str):
                raise Refused("templates may not %-format text; join it with ~ instead")
            return left % right
        if operator == "**":
            return _power(left, right)
        if operator == "*":
            return _multiply(left, right)
        return _add(left, right)

    def call(self, context: jinja2.runtime.Context, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(function, jinja2.Undefined):  # calling an undefined raises its own error
            _check_callable(function, args)
        return check_size(super().call(context, function, *args, **kwargs))

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        check_size(parts, "this template joins text with ~")
        return "".join(str(part) for part in parts)


def _power(base: Any, exponent: Any) -> Any:
    integers = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if integers and exponent > 0 and math.log2(abs(base)) * exponent > MAX_INT_BITS:
        raise Refused(f"this template raises a number to a power beyond {MAX_INT_BITS} bits")
    return base**exponent


def _multiply(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise Refused(f"this template multiplies numbers beyond {MAX_INT_BITS} bits")
        return left * right
    sequence, times = (right, left) if isinstance(left, int) else (left, right)
    repeated = isinstance(times, int) and isinstance(sequence, str | list | tuple)
    if repeated and size_of(sequence) * max(times, 0) > MAX_VALUE_CHARS:
        raise too_large("this template repeats text or a list")
    return left * right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        check_size((left, right), "this template adds text or lists")
    return left + right


def _check_callable(function: Any, args: tuple[Any, ...]) -> None:
    if function is template_range or getattr(function, "template_global", False):
        return
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", type(function).__name__)
    allowed = METHODS.get(type(owner), frozenset())
    if name not in allowed:
        raise Refused(
            f"templates may not call {name}(); they may call range(), environment() and the methods "
            f"{', '.join(sorted(METHODS[str]))} of text"
        )
    if name == "replace" and isinstance(owner, str) and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    if name == "join" and isinstance(owner, str) and args:
        _check_join(owner, args[0])


def _check_replace(text: Any, old: Any, new: Any) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * max(len(new) - len(old), 0) > MAX_VALUE_CHARS:
            raise too_large("this template replaces text")


def _check_join(separator: str, items: Any) -> None:
    items = list(items)
    if size_of(items) + len(separator) * max(len(items) - 1, 0) > MAX_VALUE_CHARS:
        raise too_large("this template joins a list")


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose inputs and result stay within MAX_VALUE_CHARS (a generator's items are
    collected one by one against it); join and replace are checked before they build text."""

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        data = [a for a in (*args, *kwargs.values()) if not isinstance(a, _CONTEXTS)]
        check_size(data, f"this template gives the {name} filter a value")
        if name == "replace" and len(data) >= 3:
            _check_replace(*data[:3])
        if name == "join" and data:
            _check_join(data[1] if len(data) > 1 and isinstance(data[1], str) else "", data[0])
        result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return _collect(result, name)
        return check_size(result, f"the {name} filter builds a value")

    return guarded


def _collect(items: Iterator[Any], name: str) -> list[Any]:
    collected, total = [], 0
    for item in items:
        total += size_of(item)
        if total > MAX_VALUE_CHARS:
            raise too_large(f"the {name} filter builds a list")
        collected.append(item)
    return collected


_CONTEXTS = (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment)


@lru_cache(maxsize=1)
def sandbox() -> Sandbox:
    environment = Sandbox(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=lambda value: check_size(value, "this template prints a value"),
    )
    builtin = environment.filters
    environment.filters = {name: _guarded_filter(name, builtin[name]) for name in FILTERS}
    environment.filters["from_json"] = _guarded_filter("from_json", json.loads)  # envtpl's
    environment.globals = {"range": template_range}
    return environment


@lru_cache(maxsize=4096)
def compiled(source: str) -> tuple[jinja2.Template, frozenset[str]]:
    """The template and the variable names it reads, after the checks of the module's
    docstring; Refused, or jinja2.TemplateSyntaxError, when it breaks one."""
    environment = sandbox()
    tree = environment.parse(source)
    for node in tree.find_all(nodes.Node):
        _check_node(node)
    names = frozenset(find_undeclared_variables(tree)) - {"environment"}
    return environment.from_string(source), names


def _check_node(node: nodes.Node) -> None:
    statement = _REFUSED_STATEMENTS.get(type(node))
    if statement or (isinstance(node, nodes.For) and node.recursive):
        raise Refused(
            f"templates in these files may not use {statement or '{% for ... recursive %}'}; "
            "{{ }}, {% if %}, {% for %}, {% set x = ... %} and {% with %} are enough for a value"
        )
    for key in _attribute_names(node):
        if any(part.startswith("_") for part in key.split(".")):
            raise Refused(f"templates may not read {key}: names starting with _ reach into Python itself")
    if isinstance(node, nodes.Filter) and node.name not in sandbox().filters:
        raise Refused(
            f"there is no filter '{node.name}' in these templates; they have "
            f"{', '.join(sorted(sandbox().filters))}"
        )


def _attribute_names(node: nodes.Node) -> list[str]:
    """Attribute and key names a node reads: `x.name`, `x['name']`, and the `attribute=` of
    filters such as map (dots allowed: 'a.b')."""
    if isinstance(node, nodes.Getattr):
        return [node.attr]
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return [node.arg.value]
    if not isinstance(node, nodes.Filter):
        return []
    named = [k.value for k in node.kwargs if k.key == "attribute"]
    if node.name in _ATTRIBUTE_FILTERS:
        named += node.args
    return [n.value for n in named if isinstance(n, nodes.Const) and isinstance(n.value, str)]


def render(source: str, context: Mapping[str, Any], deadline: float) -> str:
    """The template's text with `context`, within MAX_VALUE_CHARS and by `deadline`."""
    template, _ = compiled(source)
    return _collect_text(template.generate(dict(context)), deadline)


def _collect_text(pieces: Iterator[str], deadline: float) -> str:
    collected: list[str] = []
    total = 0
    lines = 0

    def tick(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        nonlocal lines
        lines += 1
        if lines % _LINES_BETWEEN_CLOCK_CHECKS == 0 and time.monotonic() > deadline:
            raise out_of_time()
        return tick

    def enter(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return tick if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()
    sys.settrace(enter)
    try:
        for piece in pieces:
            total += len(piece)
            if total > MAX_VALUE_CHARS:
                raise too_large("this template renders a value")
            collected.append(piece)
    finally:
        sys.settrace(previous)
    if time.monotonic() > deadline:
        raise out_of_time()
    return "".join(collected)
