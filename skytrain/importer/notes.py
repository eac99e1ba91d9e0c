"""What an import says about its input: warnings (what was not carried over, and what to do)
and refusals (why an input cannot be used). Both name the source and the JSON pointer of the
field, and never a value that could be a secret."""

from __future__ import annotations

from dataclasses import dataclass, field

from skytrain.importer.rules import RULES


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) of the parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Note:
    """One warning: `rule` is its row of the conversion matrix; `changes` are the pointers
    (inside the app) where what Marathon runs after the import differs from the input."""

    source: str
    pointer: str
    rule: str
    message: str
    changes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.source}: {self.pointer or '/'}: warning: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "pointer": self.pointer or "/",
            "rule": self.rule,
            "message": self.message,
        }


class Refused(Exception):
    """The input cannot be used (exit 2): the sentence names the source and the pointer."""

    def __init__(self, source: str, where: str, reason: str):
        super().__init__(f"{source}: {where or '/'}: error: {reason}")
        self.source = source
        self.pointer = where
        self.reason = reason

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "pointer": self.pointer or "/", "message": self.reason}


@dataclass
class Notes:
    """The warnings of one app in one environment, each under the app's own pointer."""

    source: str
    base: str  # the app's pointer in its source ("" for a file that is the app)
    items: list[Note] = field(default_factory=list)

    def warn(self, rule: str, where: str, message: str, changes: tuple[str, ...] = ()) -> None:
        assert rule in RULES, rule
        self.items.append(Note(self.source, self.base + where, rule, message, changes))

    def refuse(self, where: str, reason: str) -> Refused:
        return Refused(self.source, self.base + where, reason)
