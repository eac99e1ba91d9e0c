"""Every value that reaches an NGINX config or a bridge manifest is checked here first.

NGINX has no quoting discipline we could rely on: a name such as `foo; return 200` or a
value holding a newline or a brace would become a directive. So nothing is escaped;
anything that is not exactly a DNS label, a host, a port, a plain path or an image
reference is refused with a ConfigError before a single template is rendered.
Patterns use `re.fullmatch`, so a trailing newline can never slip through a `$`.
"""

from __future__ import annotations

import re

from skytrain.errors import ConfigError, Location

_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
NAME = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
NAMESPACE = re.compile(_LABEL)
HOST = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})*")
DOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
PATH = re.compile(r"(/[A-Za-z0-9_][A-Za-z0-9._-]*)+|/")
WORKERS = re.compile(r"auto|[1-9]|[1-5][0-9]|6[0-4]")
USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
IMAGE = re.compile(
    r"[a-z0-9]([a-z0-9._/-]*[a-z0-9])?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)


class Checker:
    """Collects every refused value of one routing build, so one run reports them all."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def refuse(self, where: Location, field: str, message: str) -> None:
        self.errors.append(ConfigError(where, field, message))

    def match(self, pattern: re.Pattern[str], value: object, where: Location, field: str, what: str) -> bool:
        if isinstance(value, str) and pattern.fullmatch(value) and ".." not in value:
            return True
        self.refuse(
            where,
            field,
            f"{value!r} cannot go into the routing config: expected {what}; "
            "nothing was rendered, so no NGINX directive could be injected",
        )
        return False

    def port(self, value: object, where: Location, field: str) -> bool:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
            return True
        self.refuse(where, field, f"{value!r} is not a TCP port; expected a number from 1 to 65535")
        return False

    def host_port(
        self, text: object, default_port: int, where: Location, field: str
    ) -> tuple[str, int] | None:
        """`host` or `host:port` (an IPv4 address or a DNS name), as the environments file writes nodes."""
        if not isinstance(text, str):
            self.refuse(where, field, f"{text!r} is not a host; expected a DNS name or IPv4 address")
            return None
        host, sep, port_text = text.partition(":")
        port = int(port_text) if sep and port_text.isdigit() and port_text.isascii() else default_port
        ok = self.match(HOST, host, where, field, "a DNS name or IPv4 address, optionally with :port")
        if sep and not (port_text.isdigit() and port_text.isascii()):
            self.refuse(where, field, f"{text!r} has a port that is not a number")
            return None
        return (host, port) if ok and self.port(port, where, field) else None

    def listen(self, text: object, where: Location, field: str) -> bool:
        """An NGINX `listen` value: `5040` or `127.0.0.1:5040`."""
        if isinstance(text, str) and text.isdigit() and text.isascii():
            return self.port(int(text), where, field)
        if isinstance(text, str) and ":" in text:
            return self.host_port(text, 0, where, field) is not None
        self.refuse(where, field, f"{text!r} is not a listen address; expected a port (5040) or host:port")
        return False

    def path(self, value: object, where: Location, field: str) -> bool:
        return self.match(
            PATH, value, where, field, "an absolute path of letters, digits, '.', '_', '-' and '/'"
        )
