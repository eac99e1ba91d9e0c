"""The canary shares and the migration's notes, in the mesh's Consul (one environment).

A share of 0 is no key at all: a service nobody migrates costs the SDB templates nothing,
and `finish` and `fallback` leave no trace behind. Every write of a share goes with a note
of the step (what, when, who) that the board shows.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

from skytrain.backends.consul import ConsulKV
from skytrain.config.environments import Environment
from skytrain.errors import UsageError
from skytrain.migration.phases import LastStep
from skytrain.render.routing.canary import environment_prefix, parse_share, record_key, share_key


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Snapshot:
    """Every share and note of one environment, from one request."""

    shares: dict[str, int] = field(default_factory=dict)
    notes: dict[str, LastStep] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # service -> why its share cannot be used


class ShareStore:
    def __init__(self, kv: ConsulKV, environment: str):
        self.kv = kv
        self.environment = environment

    @classmethod
    def of(cls, environment: Environment) -> ShareStore:
        if not environment.mesh.consul:
            raise UsageError(
                f"environment {environment.name!r} names no Consul (mesh.consul in the environments file); "
                "the canary share lives there, so migrate cannot run without it"
            )
        return cls(ConsulKV(environment.mesh.consul), environment.name)

    def snapshot(self) -> Snapshot:
        found = Snapshot()
        share_prefix = share_key(self.environment, "")
        note_prefix = record_key(self.environment, "")
        for key, entry in self.kv.entries(environment_prefix(self.environment)).items():
            if key.startswith(share_prefix):
                name = key[len(share_prefix) :]
                share = parse_share(entry.value)
                if share is None:
                    found.refused[name] = (
                        f"Consul key {key} holds {entry.value[:20]!r}, not a share from 0 to 100; "
                        "the SDB ignores it"
                    )
                elif share:
                    found.shares[name] = share
            elif key.startswith(note_prefix):
                found.notes[key[len(note_prefix) :]] = _note(entry.value)
        return found

    def share(self, name: str) -> int:
        return self.snapshot().shares.get(name, 0)

    def set_share(self, name: str, share: int, what: str, by: str) -> None:
        """Tell the SDBs the new share (0 removes the key), and note the step."""
        if share:
            self.kv.put(share_key(self.environment, name), str(share))
        else:
            self.kv.delete(share_key(self.environment, name))
        self.note(name, what, by)

    def note(self, name: str, what: str, by: str) -> None:
        self.kv.put(record_key(self.environment, name), json.dumps({"what": what, "at": utc_now(), "by": by}))

    def forget(self, name: str) -> None:
        """No share and no note: the service has left Marathon for good."""
        self.kv.delete(share_key(self.environment, name))
        self.kv.delete(record_key(self.environment, name))


def _note(text: str) -> LastStep:
    try:
        data = json.loads(text)
        return LastStep(str(data.get("what", "")), str(data.get("at", "")), str(data.get("by", "")))
    except (ValueError, AttributeError):
        return LastStep("(unreadable note)", "")
