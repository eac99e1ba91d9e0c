"""Why a connection to a scheduler failed, in two words a person on call reads at a glance,
instead of a client library's stack of wrapped exceptions (which can also quote a URL
with credentials in it)."""

from __future__ import annotations

import re

_REASONS = (
    (r"Connection refused", "connection refused"),
    (r"Name or service not known|nodename nor servname|Temporary failure in name resolution", "unknown host"),
    (r"reset by peer|RemoteDisconnected|aborted", "connection reset"),
    (r"[Tt]imed out|timeout", "timed out"),
    (r"CERTIFICATE|SSL|TLS", "TLS handshake failed"),
)


def connection_failure(exc: BaseException) -> str:
    text = str(exc)
    return next((reason for pattern, reason in _REASONS if re.search(pattern, text)), "connection failed")
