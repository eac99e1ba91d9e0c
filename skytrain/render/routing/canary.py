"""Where the mesh keeps a service's canary share, and what a share may be (pure).

The share (percent of a service's requests the SDB sends to Kubernetes first while Mesos
still runs) lives in the mesh's Consul, one key per service and environment, so that
consul-template follows it live and `skytrain routes` reads it when it regenerates the
static SDB (docs/migration.md says why there). A value that is not a whole percent is
never rendered into a config: both readers check it against SHARE first.
"""

from __future__ import annotations

import re

PREFIX = "skytrain/"
SHARE = re.compile(r"100|[1-9]?[0-9]")
# a share that makes a canary (1 to 100), for consul-template's regexMatch (Go's RE2)
CANARY_SHARE_GO = "^(100|[1-9][0-9]?)$"


def environment_prefix(environment: str) -> str:
    """Every key of one environment: the shares and the notes, read in one request."""
    return f"{PREFIX}{environment}/"


def share_key(environment: str, name: str) -> str:
    return f"{environment_prefix(environment)}canary/{name}"


def record_key(environment: str, name: str) -> str:
    """The migration's own note of its last step (what, when, by whom), beside the share."""
    return f"{environment_prefix(environment)}migration/{name}"


def parse_share(text: str) -> int | None:
    """A share as stored ("25"), or None when the value is not a whole percent."""
    return int(text) if SHARE.fullmatch(text.strip()) else None
