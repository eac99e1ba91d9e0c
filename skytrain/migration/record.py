"""The record of one migrate run, step by step (pure): what `--output json` reports, so a
pipeline or a dashboard can tell which canary step failed and on what evidence without
parsing the lines the terminal shows.

Each step keeps the line the terminal printed for it (`message`), so the text and the
JSON of a run never disagree; the rest depends on the kind of step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from skytrain.migration.compare import Side, Tally


def _copy(side: Side) -> Side:
    return dataclasses.replace(side, latencies_ms=list(side.latencies_ms))


class Kind(StrEnum):
    PREFLIGHT = "preflight"  # the checks before anything changes
    BASELINE = "baseline"  # the Mesos side probed before the first share
    CANARY = "canary"  # a share set and soaked, both sides compared
    SHARE = "share"  # a share set without a soak (the fall-back's 0)
    SCALE = "scale"  # Marathon scaled, gated (to 0 at the cut-over, back at a fall-back)
    EDIT = "edit"  # finish: the overlay says scheduler: kubernetes
    REMOVE = "remove"  # finish --yes: the Marathon app deleted
    FORGET = "forget"  # finish --yes: the share and notes gone from Consul


@dataclass(frozen=True)
class Probed:
    """What the probe saw while a step soaked: every request, who answered it as the
    callers saw it, and each side's first tries (the comparison's evidence)."""

    seconds: float
    requests: int
    served: dict[str, int]
    caller_failures: int
    kubernetes: Side | None  # None for the baseline: nothing goes to Kubernetes first yet
    mesos: Side

    @classmethod
    def of(cls, seconds: float, tally: Tally, kubernetes: Side | None, mesos: Side) -> Probed:
        """As the sides are now: the Mesos side the comparison uses goes on growing with later steps."""
        return cls(
            seconds,
            tally.requests,
            dict(tally.served),
            tally.caller_failures,
            None if kubernetes is None else _copy(kubernetes),
            _copy(mesos),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "servedBy": dict(sorted(self.served.items())),
            "callerFailures": self.caller_failures,
            "kubernetes": None if self.kubernetes is None else self.kubernetes.to_json(),
            "mesos": self.mesos.to_json(),
        }


@dataclass(frozen=True)
class Step:
    kind: Kind
    passed: bool
    message: str  # the line the terminal printed for the step
    reason: str | None = None  # why it did not pass (a canary step: the comparison's verdict)
    share: int | None = None  # the share the step set (canary, share)
    probe: Probed | None = None  # baseline, canary
    instances: int | None = None  # scale: Marathon's instances asked for
    result: dict[str, Any] | None = None  # scale: its result, as `skytrain scale --output json` has it
    diff: str | None = None  # edit: the change to the overlay, for the pull request ("" for none)
    file: str | None = None  # edit: the overlay

    @property
    def outcome(self) -> str:
        return "passed" if self.passed else "failed"

    def to_json(self) -> dict[str, Any]:
        """The kind, outcome and message always; the rest where the kind has it."""
        optional = {
            "reason": self.reason,
            "share": self.share,
            "probe": None if self.probe is None else self.probe.to_json(),
            "instances": self.instances,
            "result": self.result,
            "file": self.file,
            "diff": self.diff,
        }
        core = {"kind": self.kind.value, "outcome": self.outcome, "message": self.message}
        return core | {key: value for key, value in optional.items() if value is not None}
