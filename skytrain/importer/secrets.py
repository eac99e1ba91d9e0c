"""Secrets found in a Marathon app: the same detection `validate` applies to env values
(skytrain.config.checks.inline_secrets: by the name, a password in a URL, or detect-secrets'
verdict), and the reference each gets in the secret store. A value is only ever judged,
never kept, printed or written."""

from __future__ import annotations

import re

from skytrain.secret_shapes import PASSWORD_IN_URL, SECRET_NAME, secret_kind


def secret_reason(name: str, value: str) -> str | None:
    """Why `validate` would refuse `name: value` in env, in words without the value; None if it would not."""
    if SECRET_NAME.search(name):
        return "its name says so"
    if PASSWORD_IN_URL.search(value):
        return "a URL with a password in it"
    kind = secret_kind(name, value)
    return f"{kind}, as detect-secrets sees it" if kind else None


def store_reference(service: str, variable: str, source: str | None = None) -> dict[str, str]:
    """{secret, key} for a variable: from a Marathon secret's store path (`/db/password` is
    key `password` of secret `db`), else the service's own secret with the variable's name
    as key (a placeholder the warning explains)."""
    if source:
        folder, _, leaf = source.strip("/").rpartition("/")
        secret = _secret_name(folder) or service
        key = re.sub(r"[^-._a-zA-Z0-9]", "-", leaf).strip("-") or _key(variable)
        return {"secret": secret, "key": key}
    return {"secret": service, "key": _key(variable)}


def _secret_name(text: str) -> str:
    """A DNS-1123 subdomain made of a store path ("team/db" → "team-db")."""
    name = re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-.")
    return name[:253].rstrip("-.")


def _key(variable: str) -> str:
    return variable.lower().replace("_", "-")
