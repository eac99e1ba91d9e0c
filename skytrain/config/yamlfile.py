"""Read a YAML file into plain data plus the line and column of every key and value.

PyYAML's composer (the C one when available) gives nodes with marks; we build the data
ourselves so that every error later on can point at the exact spot, and so that a
duplicate key, which YAML silently collapses, becomes an error instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from skytrain.errors import ConfigError, ConfigErrors, Location, field_path

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

YamlPath = tuple[str | int, ...]


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


_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
# far above any service's files, far below what a "billion laughs" of aliases expands to
_MAX_VALUES = 100_000


class _Builder:
    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.positions = Positions()
        self.errors: list[ConfigError] = []
        self._scalars = yaml.constructor.SafeConstructor()
        self._open: set[int] = set()  # collections being built, to catch an alias inside its own anchor
        self._budget = _MAX_VALUES

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self.positions.values[path] = _location(self.file, node.start_mark)
        self._budget -= 1
        if self._budget < 0 or id(node) in self._open:
            return self._alias_error(node, path)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_COLLECTION_TAGS:
            return self._tag_error(node, path, "skytrain does not read values tagged")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        self._open.add(id(node))
        try:
            return self._collection(node, path)
        finally:
            self._open.discard(id(node))

    def _alias_error(self, node: yaml.Node, path: YamlPath) -> None:
        if self._budget >= -1:  # report once, not for every value past the limit
            self.errors.append(
                ConfigError(
                    _location(self.file, node.start_mark),
                    field_path(path),
                    "this value refers to itself, or YAML aliases (*name) expand it past "
                    f"{_MAX_VALUES} values; write it out plainly",
                )
            )
        return None

    def _collection(self, node: yaml.Node, path: YamlPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            if self._unquoted_template(node):
                self.errors.append(
                    ConfigError(
                        _location(self.file, node.start_mark),
                        field_path(path),
                        "a value that starts with {{ must be quoted, or YAML reads it as a mapping: "
                        f'write "{self._flow_text(node)}"',
                    )
                )
                return None
            return self._mapping(node, path)
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]

    def _scalar(self, node: yaml.ScalarNode, path: YamlPath) -> Any:
        try:
            value = self._scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            problem = (
                "skytrain does not read values tagged" if isinstance(exc, yaml.YAMLError) else "this is not a"
            )
            return self._tag_error(node, path, problem)
        if not isinstance(value, str | int | float | bool | type(None)):
            # dates and binary: keep the text as written, the schema decides if a string is fine
            return node.value
        return value

    def _tag_error(self, node: yaml.Node, path: YamlPath, problem: str) -> None:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        self.errors.append(
            ConfigError(
                _location(self.file, node.start_mark),
                field_path(path),
                f"{problem} {tag}; write a plain value without a tag",
            )
        )

    def _unquoted_template(self, node: yaml.MappingNode) -> bool:
        mark = node.start_mark
        return bool(node.flow_style) and _line(self.lines, mark)[mark.column :].startswith("{{")

    def _flow_text(self, node: yaml.MappingNode) -> str:
        start, end = node.start_mark, node.end_mark
        if start.line == end.line:
            return _line(self.lines, start)[start.column : end.column]
        return "{{ ... }}"

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        self._scalars.flatten_mapping(node)
        out: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            where = _location(self.file, key_node.start_mark)
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    ConfigError(where, field_path(path), "a key must be a plain name, not a list or mapping")
                )
                continue
            key = key_node.value
            if key in first_seen:
                self.errors.append(
                    ConfigError(
                        where,
                        field_path((*path, key)),
                        f"duplicate key '{key}' (first written at line {first_seen[key].line}); "
                        "YAML would silently keep only the last one, so remove one of them",
                    )
                )
                continue
            first_seen[key] = where
            self.positions.keys[(*path, key)] = where
            out[key] = self.build(value_node, (*path, key))
        return out


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


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document; raise ConfigErrors naming file:line:col on any problem."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
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
    if len(nodes) > 1:
        where = _location(file, nodes[1].start_mark)
        raise ConfigErrors(
            [
                ConfigError(
                    where, "(top level)", "found a second YAML document ('---'); keep one document per file"
                )
            ]
        )
    if not nodes:
        return YamlDocument(file, None, Positions({(): Location(file, 1, 1)}))
    builder = _Builder(file, text)
    data = builder.build(nodes[0], ())
    if builder.errors:
        raise ConfigErrors(builder.errors)
    return YamlDocument(file, data, builder.positions)


def read_text(path: Path, display: str) -> str:
    """A file's text; ConfigErrors (not a traceback) when it is not UTF-8 or cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigErrors(
            [ConfigError(Location(display, 1, 1), "(top level)", f"cannot read this file: {exc.strerror}")]
        ) from None
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
