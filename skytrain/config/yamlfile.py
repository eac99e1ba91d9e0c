"""Read a YAML file into plain data plus the line and column of every key and value.

We build the data ourselves from the parser's events (libyaml's, when PyYAML has it) rather
than from PyYAML's composed node tree, for three reasons: every error later on can point
at the exact spot; a duplicate key, which YAML silently collapses, becomes an error; and a
hostile file stays cheap. Deploy files are untrusted (docs/security.md): the file's size is
checked before it is parsed, and while it is parsed the nesting depth and the number of
values (aliases included) are counted, so that a file past the limits of
skytrain.config.limits stops within milliseconds, with a sentence, before any node tree
or recursion could cost the machine memory or a RecursionError.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from skytrain.config import limits as limits_module
from skytrain.config.limits import Limits
from skytrain.errors import ConfigError, ConfigErrors, Location, field_path

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

YamlPath = tuple[str | int, ...]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = (None, "!", _MAP, _SEQ)
# the scalar tags SafeConstructor reads as a scalar; any other tag on a scalar is refused
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "binary", "timestamp")
)
_STARTS = (MappingStartEvent, SequenceStartEvent)
_VALUE_EVENTS = frozenset((ScalarEvent, MappingStartEvent, SequenceStartEvent))
_ENDS = (MappingEndEvent, SequenceEndEvent)


@dataclass
class Positions:
    """Where each value (and each mapping key) of a document was written."""

    values: dict[YamlPath, Location] = field(default_factory=dict)
    keys: dict[YamlPath, Location] = field(default_factory=dict)

    def of_value(self, path: YamlPath) -> Location:
        """The value's own spot, else its key's, else the nearest enclosing one."""
        for end in range(len(path), -1, -1):
            sub = path[:end]
            if sub in self.values:
                return self.values[sub]
            if sub in self.keys:
                return self.keys[sub]
        raise KeyError(path)

    def of_key(self, path: YamlPath) -> Location:
        return self.keys.get(path) or self.of_value(path)


@dataclass
class YamlDocument:
    file: str
    data: Any
    positions: Positions


def _location(file: str, mark: yaml.Mark) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _line(lines: list[str], mark: yaml.Mark | None) -> str:
    """The text of the mark's line ('' when YAML and Python count line breaks differently)."""
    return lines[mark.line] if mark is not None and mark.line < len(lines) else ""


class _Stop(Exception):
    """A limit was crossed: reading stops at once, with this one error."""

    def __init__(self, error: ConfigError):
        self.error = error


class _Anchors:
    """Anchors (&name) and what each one covers, so that an alias (*name) can be built
    again from the same events. Events are kept only from the first anchor on."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._spans: dict[str, tuple[int, int] | None] = {}  # None: the anchored node is still open
        self._marks: dict[str, yaml.Mark] = {}
        self._open: list[tuple[str, int, int]] = []  # (anchor, its first event, its nesting level)
        self._level = 0
        self.recording = False  # from the first anchor on, every event is kept

    def record(self, event: Event) -> None:
        anchor = getattr(event, "anchor", None) if type(event) in _VALUE_EVENTS else None
        if anchor is not None:
            if anchor in self._marks:
                raise yaml.composer.ComposerError(
                    "found duplicate anchor; first occurrence",
                    self._marks[anchor],
                    "second occurrence",
                    event.start_mark,
                )
            self._marks[anchor] = event.start_mark
            self.recording = True
        if not self.recording:
            return
        self.events.append(event)
        index = len(self.events) - 1
        if isinstance(event, _STARTS):
            self._level += 1
            if anchor is not None:
                self._spans[anchor] = None
                self._open.append((anchor, index, self._level))
        elif isinstance(event, _ENDS):
            if self._open and self._open[-1][2] == self._level:
                name, first, _ = self._open.pop()
                self._spans[name] = (first, index + 1)
            self._level -= 1
        elif anchor is not None:
            self._spans[anchor] = (index, index + 1)

    def replay(self, alias: AliasEvent) -> list[Event] | None:
        """The events the alias stands for; None when the alias is inside its own anchor."""
        if alias.anchor not in self._spans:
            raise yaml.composer.ComposerError(None, None, "found undefined alias", alias.start_mark)
        span = self._spans[alias.anchor]
        return None if span is None else self.events[span[0] : span[1]]


@dataclass(slots=True)
class _Frame:
    """A mapping or list being built."""

    path: YamlPath
    data: dict[str, Any] | list[Any]
    first_seen: dict[str, Location]
    key: str | None = None  # a mapping's key waiting for its value
    awaiting_key: bool = True
    merge_next: bool = False  # the key just read was `<<`
    skip_next: bool = False  # the key just read was refused: drop its value
    shared: bool = False  # a mapping merged (<<) into its parent: its keys go there
    merges: bool = False  # the list of `<<: [*a, *b]`: each item merges into the parent


class _Builder:
    def __init__(self, file: str, text: str, limits: Limits, anchors: _Anchors):
        self.file = file
        self.text = text
        self.limits = limits
        self.anchors = anchors
        self.positions = Positions()
        self.errors: list[ConfigError] = []
        self.root: Any = None
        self._scalars = yaml.constructor.SafeConstructor()
        self._resolver = yaml.resolver.Resolver()
        self._stack: list[_Frame] = []
        self._values = 0
        self._max_values = limits.max_values
        self._replaying = 0
        self._skipping = 0
        self._after_skip: Callable[[Event], None] | None = None

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def feed(self, event: Event) -> None:
        kind = type(event)
        if self._skipping:
            self._skip(event)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            self._stack.pop()
        elif kind is AliasEvent:
            self._alias(event)  # type: ignore[arg-type]
        elif kind not in _VALUE_EVENTS:
            return
        elif self._stack:
            self._in_collection(self._stack[-1], event)  # type: ignore[arg-type]
        else:
            self._value(event, (), None, None)  # type: ignore[arg-type]

    def _in_collection(self, top: _Frame, event: NodeEvent) -> None:
        if top.merges:
            self._merge_item(top, event)
        elif type(top.data) is list:
            self._value(event, (*top.path, len(top.data)), top.data, None)
        elif top.awaiting_key:
            self._key(top, event)
        else:
            top.awaiting_key = True
            if top.skip_next:
                top.skip_next = False
                self._skip_node(event)
            elif top.merge_next:
                top.merge_next = False
                self._merge(top, event)
            else:
                self._value(event, (*top.path, top.key), top.data, top.key)

    def _alias(self, event: AliasEvent) -> None:
        events = self.anchors.replay(event)
        if events is None:
            path = self._path_of_next()
            raise _Stop(
                ConfigError(
                    _location(self.file, event.start_mark),
                    field_path(path),
                    "this value refers to itself (an alias *name inside its own &name); write it out plainly",
                )
            )
        self._replaying += 1
        for replayed in events:
            self.feed(replayed)
        self._replaying -= 1

    def _path_of_next(self) -> YamlPath:
        if not self._stack:
            return ()
        top = self._stack[-1]
        if isinstance(top.data, list):
            return (*top.path, len(top.data))
        return (*top.path, top.key) if top.key is not None and not top.awaiting_key else top.path

    def _key(self, top: _Frame, event: NodeEvent) -> None:
        where = _location(self.file, event.start_mark)
        top.awaiting_key = False
        if not isinstance(event, ScalarEvent):
            self.errors.append(
                ConfigError(where, field_path(top.path), "a key must be a plain name, not a list or mapping")
            )
            top.skip_next = True
            self._skip_node(event)
            return
        if event.tag == _MERGE or (event.value == "<<" and event.tag is None and event.implicit[0]):
            top.merge_next = True
            return
        key = event.value
        if key in top.first_seen:
            self.errors.append(
                ConfigError(
                    where,
                    field_path((*top.path, key)),
                    f"duplicate key '{key}' (first written at line {top.first_seen[key].line}); "
                    "YAML would silently keep only the last one, so remove one of them",
                )
            )
            top.skip_next = True
            return
        top.first_seen[key] = where
        top.key = key
        self.positions.keys[(*top.path, key)] = where

    def _value(self, event: NodeEvent, path: YamlPath, into: dict | list | None, key: str | None) -> None:
        """Build the value `event` starts at `path`: the root, an item of list `into`, or
        `into[key]`."""
        self.positions.values[path] = _location(self.file, event.start_mark)
        self._values += 1
        if self._values > self._max_values:
            self._too_many(event, path)
        if type(event) is ScalarEvent:
            value = self._scalar(event, path)  # type: ignore[arg-type]
        elif event.tag not in _COLLECTION_TAGS:
            value = None
            self._tag_error(event, path, "skytrain does not read values tagged")
            self._skip_node(event)
        elif type(event) is MappingStartEvent and self._unquoted_template(event):  # type: ignore[arg-type]
            value = None
            self._skip_node(event, lambda end: self._template_error(event, end, path))
        else:
            value = self._open(event, path)
        if key is not None:
            into[key] = value  # type: ignore[index]
        elif into is not None:
            into.append(value)  # type: ignore[union-attr]
        else:
            self.root = value

    def _open(self, event: NodeEvent, path: YamlPath) -> dict[str, Any] | list[Any]:
        if len(self._stack) >= self.limits.max_depth:
            shown = field_path(path[:6]) + ("..." if len(path) > 6 else "")
            raise _Stop(too_deep(_location(self.file, event.start_mark), shown, self.limits))
        data: dict[str, Any] | list[Any] = {} if type(event) is MappingStartEvent else []
        self._stack.append(_Frame(path, data, {}))
        return data

    def _too_many(self, event: NodeEvent, path: YamlPath) -> None:
        limit = self.limits.max_values
        message = (
            f"YAML aliases (*name) expand this file past {limit} values; write it out plainly"
            if self._replaying
            else f"this file has more than {limit} values, far more than any deploy file needs; "
            "make it smaller"
        )
        raise _Stop(ConfigError(_location(self.file, event.start_mark), field_path(path), message))

    def _merge(self, top: _Frame, event: NodeEvent) -> None:
        """`<<: *defaults`, `<<: {...}` or `<<: [*a, *b]`: the keys go into `top`."""
        if isinstance(event, MappingStartEvent):
            self._stack.append(_Frame(top.path, top.data, top.first_seen, shared=True))
        elif isinstance(event, SequenceStartEvent):
            self._stack.append(_Frame(top.path, top.data, top.first_seen, shared=True, merges=True))
        else:
            self._merge_error(top, event)

    def _merge_item(self, top: _Frame, event: NodeEvent) -> None:
        if isinstance(event, MappingStartEvent):
            self._stack.append(_Frame(top.path, top.data, top.first_seen, shared=True))
        else:
            self._merge_error(top, event)

    def _merge_error(self, top: _Frame, event: NodeEvent) -> None:
        self.errors.append(
            ConfigError(
                _location(self.file, event.start_mark),
                field_path(top.path),
                "a merge key (<<) takes a mapping or a list of mappings, e.g. <<: *defaults",
            )
        )
        self._skip_node(event)

    def _skip_node(self, event: NodeEvent, then: Callable[[Event], None] | None = None) -> None:
        """Leave out this node (and all inside it), then call `then` with its last event."""
        if isinstance(event, _STARTS):
            self._skipping, self._after_skip = 1, then
        elif then is not None:
            then(event)

    def _skip(self, event: Event) -> None:
        if isinstance(event, _STARTS):
            self._skipping += 1
        elif isinstance(event, _ENDS):
            self._skipping -= 1
            if not self._skipping and self._after_skip is not None:
                then, self._after_skip = self._after_skip, None
                then(event)

    def _scalar(self, event: ScalarEvent, path: YamlPath) -> Any:
        tag = event.tag
        if tag is None and not event.implicit[0]:  # quoted: a string, whatever it looks like
            return event.value
        if tag is None or tag == "!":
            tag = self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        if tag not in _SCALAR_TAGS:
            return self._tag_error(event, path, "skytrain does not read values tagged", tag)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = self._scalars.yaml_constructors[tag](self._scalars, node)
        except (yaml.YAMLError, ValueError, TypeError, LookupError):
            return self._tag_error(event, path, "this is not a", tag)
        if not isinstance(value, str | int | float | bool | type(None)):
            # dates and binary: keep the text as written, the schema decides if a string is fine
            return event.value
        return value

    def _tag_error(self, event: NodeEvent, path: YamlPath, problem: str, tag: str | None = None) -> None:
        shown = (tag or event.tag or "").replace("tag:yaml.org,2002:", "!!")
        self.errors.append(
            ConfigError(
                _location(self.file, event.start_mark),
                field_path(path),
                f"{problem} {shown}; write a plain value without a tag",
            )
        )

    def _unquoted_template(self, event: MappingStartEvent) -> bool:
        mark = event.start_mark
        return bool(event.flow_style) and _line(self.lines, mark)[mark.column :].startswith("{{")

    def _template_error(self, start: NodeEvent, end: Event, path: YamlPath) -> None:
        first, last = start.start_mark, end.end_mark
        shown = (
            _line(self.lines, first)[first.column : last.column] if first.line == last.line else "{{ ... }}"
        )
        self.errors.append(
            ConfigError(
                _location(self.file, first),
                field_path(path),
                f'a value that starts with {{{{ must be quoted, or YAML reads it as a mapping: write "{shown}"',
            )
        )


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, file: str) -> ConfigError:
    """PyYAML's problem, at its spot, with what it was parsing and where that began."""
    mark = exc.problem_mark or exc.context_mark
    where = _location(file, mark) if mark else Location(file, 1, 1)
    what = exc.problem or exc.context or "unreadable"
    if exc.context and exc.problem:
        started = exc.context_mark
        at = f" that began at line {started.line + 1}" if started and started.line != mark.line else ""
        what = f"{exc.problem} ({exc.context}{at})"
    line = _line(text.splitlines(), mark)
    if mark is not None and "\t" in line[: mark.column + 1]:
        what += "; this line has a tab: YAML indents with spaces only"
    if re.search(r":\s+\{\{", line):
        what += '; a value that starts with {{ must be quoted: "{{ VAR }}..."'
    return ConfigError(where, "(top level)", f"this is not valid YAML: {what}")


def too_deep(where: Location, path: str, limits: Limits) -> ConfigError:
    return ConfigError(
        where,
        path,
        f"this file nests lists and mappings more than {limits.max_depth} levels deep; "
        "no deploy file needs that many: flatten it",
    )


def too_large(file: str, limits: Limits) -> ConfigError:
    """The error for a file past the size limit, said before any of it is parsed."""
    return ConfigError(
        Location(file, 1, 1),
        "(top level)",
        f"this file is over {limits.max_bytes:,} bytes, far larger than any deploy file needs, "
        "so skytrain does not read it",
    )


def parse_yaml(text: str, file: str, limits: Limits | None = None) -> YamlDocument:
    """Parse one YAML document; raise ConfigErrors naming file:line:col on any problem."""
    limits = limits or limits_module.current()
    if len(text) > limits.max_bytes:
        raise ConfigErrors([too_large(file, limits)])
    anchors = _Anchors()
    builder = _Builder(file, text, limits, anchors)
    documents = 0
    loader = _Loader(text)
    try:
        while (event := loader.get_event()) is not None:
            kind = type(event)
            if kind is DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise _Stop(_second_document(file, loader.get_event() or event))
                continue
            if anchors.recording or (kind in _VALUE_EVENTS and event.anchor is not None):
                anchors.record(event)
            builder.feed(event)
    except _Stop as stop:
        raise ConfigErrors([stop.error]) from None
    except yaml.MarkedYAMLError as exc:
        if exc.problem_mark is not None and "maximum nesting depth" in (exc.problem or ""):
            # libyaml's own bound (1000 levels), met while it looks ahead before any event
            raise ConfigErrors([too_deep(_location(file, exc.problem_mark), "(top level)", limits)]) from None
        raise ConfigErrors([_syntax_error(exc, text, file)]) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Location(file, before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1)
        message = f"this file has a character YAML does not allow here (#x{exc.character:04x}); remove it"
        raise ConfigErrors([ConfigError(where, "(top level)", message)]) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors(
            [ConfigError(Location(file, 1, 1), "(top level)", f"this is not valid YAML: {exc}")]
        ) from None
    finally:
        loader.dispose()
    if builder.errors:
        raise ConfigErrors(builder.errors)
    if not builder.positions.values:
        return YamlDocument(file, None, Positions({(): Location(file, 1, 1)}))
    return YamlDocument(file, builder.root, builder.positions)


def _second_document(file: str, first_event: Event) -> ConfigError:
    return ConfigError(
        _location(file, first_event.start_mark),
        "(top level)",
        "found a second YAML document ('---'); keep one document per file",
    )


def read_text(path: Path, display: str, limits: Limits | None = None) -> str:
    """A file's text; ConfigErrors (not a traceback) when it is too large, not UTF-8 or
    cannot be read. Never reads more than the size limit (and one byte to know it is past)."""
    limits = limits or limits_module.current()
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            too_big = size > limits.max_bytes
            # as much as stat says and a byte more (a buffer as large as the limit would cost
            # every small file); a file larger than it said is read on, up to the limit
            data = b"" if too_big else stream.read(size + 1)
            if len(data) > size:
                data += stream.read(limits.max_bytes + 1 - len(data))
    except OSError as exc:
        raise ConfigErrors(
            [ConfigError(Location(display, 1, 1), "(top level)", f"cannot read this file: {exc.strerror}")]
        ) from None
    if too_big or len(data) > limits.max_bytes:
        raise ConfigErrors([too_large(display, limits)])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigErrors(
            [
                ConfigError(
                    Location(display, line, column),
                    "(top level)",
                    f"this file is not UTF-8 text (byte 0x{data[exc.start]:02x} here); save it as UTF-8",
                )
            ]
        ) from None
