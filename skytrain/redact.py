"""Keep secrets out of everything skytrain prints or writes (errors, progress, results, JSON, JUnit).

skytrain's files never hold secret values (the config checks refuse them), but a
scheduler's evidence (task failures, pod logs, events) can echo the process environment,
and a mistaken environments file can hold a URL with credentials: a token in a URL, or the
value of JENKINS_TOKEN. Both are masked before anything is shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from skytrain.secret_shapes import SECRET_NAME

MASK = "****"
# a URL's credentials: `user:password@` keeps the user; a lone `token@` (how tokens are often
# given) is masked whole; a password may itself hold an `@`, so up to the last one of the host
_USERINFO = re.compile(r"(://(?:[^/\s:@]+:)?)[^/\s]*@")
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secrets, longest first."""
    environ = os.environ if environ is None else environ
    values = {v for k, v in environ.items() if SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, MASK)
    if "@" in text:
        text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
    return text


def redact_data(value: Any, secrets: list[str] | None = None) -> Any:
    """`redact` applied to every string in plain data (a result's JSON form)."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, Mapping):
        return {k: redact_data(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, secrets) for v in value]
    return value
