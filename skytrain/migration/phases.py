"""Where a service stands in its migration, derived from what the config says and what
Marathon, Kubernetes and the mesh (the canary share the SDB serves) say now.

Pure: `stand(seen)` turns one observation into a `Standing` (the phase, the share of
traffic Kubernetes gets, what is wrong if anything, and the command that comes next).
Deriving instead of recording a phase means the board cannot drift from the truth: a
person who scaled an app by hand sees it as it is.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    ON_MARATHON = "on Marathon"
    DUAL = "dual"
    CANARY = "canary"
    CUT_OVER = "cut over"
    ON_KUBERNETES = "on Kubernetes"
    INCONSISTENT = "inconsistent"


# the order a service goes through (the board sorts and colours by it)
ORDER = (Phase.ON_MARATHON, Phase.DUAL, Phase.CANARY, Phase.CUT_OVER, Phase.ON_KUBERNETES, Phase.INCONSISTENT)


@dataclass(frozen=True)
class Copies:
    """What one scheduler runs of the service: copies wanted, copies ready, settled."""

    desired: int
    ready: int
    settled: bool

    def __str__(self) -> str:
        return f"{self.ready}/{self.desired}"


@dataclass(frozen=True)
class LastStep:
    """The last step a migrate command took for the service, as it recorded it."""

    what: str
    at: str  # ISO 8601, UTC
    by: str = ""


@dataclass(frozen=True)
class Seen:
    """One service in one environment: the config, the schedulers and the mesh, now."""

    name: str
    environment: str
    where: str  # the service directory as the command line named it
    config_marathon: bool  # the config places it on Marathon there
    config_kubernetes: bool  # ... and on Kubernetes
    marathon: Copies | None  # None: no Marathon app
    kubernetes: Copies | None  # None: no Deployment
    share: int | None  # the canary share the SDB is told (None: no entry)
    previous_instances: int | None = None  # recorded on the Marathon app at the scale to 0
    cut_over_at: str | None = None  # when, recorded with it
    last_step: LastStep | None = None
    dependencies: tuple[str, ...] = ()
    unreadable: str = ""  # a scheduler or Consul could not be read: why


@dataclass(frozen=True)
class Standing:
    seen: Seen
    phase: Phase
    share: int  # percent of the service's requests that Kubernetes answers first
    problem: str = ""  # for an inconsistent service: what is wrong, in a sentence
    next_command: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"canary {self.share} %" if self.phase is Phase.CANARY else self.phase.value

    def to_json(self) -> dict[str, Any]:
        seen = self.seen
        return {
            "service": seen.name,
            "environment": seen.environment,
            "phase": self.phase.value,
            "label": self.label,
            "share": self.share,
            "marathon": _copies(seen.marathon),
            "kubernetes": _copies(seen.kubernetes),
            "previousInstances": seen.previous_instances,
            "cutOverAt": seen.cut_over_at,
            "lastStep": None
            if seen.last_step is None
            else {"what": seen.last_step.what, "at": seen.last_step.at, "by": seen.last_step.by},
            "problem": self.problem,
            "next": self.next_command,
            "dependencies": list(seen.dependencies),
        }


def _copies(copies: Copies | None) -> dict[str, Any] | None:
    return (
        None
        if copies is None
        else {"desired": copies.desired, "ready": copies.ready, "settled": copies.settled}
    )


def command(verb: str, seen: Seen, extra: str = "") -> str:
    return migrate_command(verb, seen.where, seen.environment, extra)


def migrate_command(verb: str, where: str, environment: str, extra: str = "") -> str:
    return f"skytrain migrate {verb} {where} --env {environment}{extra}"


def deploy_command(seen: Seen, target: str) -> str:
    return f"skytrain deploy {seen.where} --env {seen.environment} --target {target}"


def stand(seen: Seen) -> Standing:
    """The phase of one service, or `inconsistent` with what is wrong and what fixes it."""
    if seen.unreadable:
        return Standing(seen, Phase.INCONSISTENT, 0, seen.unreadable, "")
    if seen.config_marathon and seen.config_kubernetes:
        return _both(seen)
    if seen.config_marathon:
        return _marathon_only(seen)
    return _kubernetes_only(seen)


def _running(copies: Copies | None) -> bool:
    return copies is not None and copies.desired > 0


def _marathon_only(seen: Seen) -> Standing:
    if seen.marathon is None:
        return _nothing_runs(seen, "Marathon", "marathon")
    if seen.share:
        return _wrong(
            seen,
            f"the SDB sends {seen.share} % of its requests to Kubernetes, but the config places it on Marathon only",
            command("fallback", seen),
        )
    if seen.kubernetes is not None:
        return Standing(
            seen,
            Phase.ON_MARATHON,
            0,
            next_command="",
            notes=("a Deployment runs on Kubernetes too, unused",),
        )
    return Standing(
        seen,
        Phase.ON_MARATHON,
        0,
        next_command=f"set scheduler: both in deploy/{seen.environment}.yml, then "
        + deploy_command(seen, "kubernetes"),
    )


def _both(seen: Seen) -> Standing:
    marathon, kubernetes, share = seen.marathon, seen.kubernetes, seen.share or 0
    if kubernetes is None:
        return _wrong(
            seen, "the config says both, but nothing runs on Kubernetes", deploy_command(seen, "kubernetes")
        )
    if not kubernetes.settled and share:
        return _wrong(
            seen,
            f"Kubernetes is not healthy ({kubernetes} ready) while it gets {share} % of the requests first",
            command("fallback", seen),
        )
    if marathon is None:
        return _wrong(
            seen,
            "there is no Marathon app, but the config still says both",
            f"merge the change to scheduler: kubernetes ({command('finish', seen)} prints it)",
        )
    if not _running(marathon):
        if share < 100:
            return _wrong(
                seen,
                f"Marathon runs no instance, but the SDB still prefers Mesos for {100 - share} % of the requests",
                command("cutover", seen),
            )
        if seen.previous_instances is None:
            return _wrong(
                seen,
                "Marathon runs no instance and no previous instance count is recorded on the app (scaled by hand?)",
                command("fallback", seen, " --instances N"),
            )
        return Standing(seen, Phase.CUT_OVER, 100, next_command=command("finish", seen, " --yes"))
    if share:
        return Standing(seen, Phase.CANARY, share, next_command=command("cutover", seen))
    if not kubernetes.settled:
        return _wrong(
            seen,
            f"Kubernetes is deployed but not healthy ({kubernetes} ready)",
            deploy_command(seen, "kubernetes"),
        )
    return Standing(seen, Phase.DUAL, 0, next_command=command("cutover", seen))


def _kubernetes_only(seen: Seen) -> Standing:
    if seen.kubernetes is None:
        return _nothing_runs(seen, "Kubernetes", "kubernetes")
    if seen.marathon is not None:
        return _wrong(
            seen,
            "the config places it on Kubernetes only, but its Marathon app still exists",
            command("finish", seen, " --yes"),
        )
    if seen.share is not None:
        return _wrong(
            seen, "a canary share is still recorded for it in Consul", command("finish", seen, " --yes")
        )
    return Standing(seen, Phase.ON_KUBERNETES, 100)


def _nothing_runs(seen: Seen, title: str, target: str) -> Standing:
    return _wrong(
        seen, f"the config places it on {title}, but nothing runs there", deploy_command(seen, target)
    )


def _wrong(seen: Seen, problem: str, fix: str) -> Standing:
    share = seen.share or 0
    serving = 100 if not _running(seen.marathon) else share
    return Standing(seen, Phase.INCONSISTENT, serving, problem, fix)


def soaked_for(cut_over_at: str | None, now: datetime.datetime) -> float | None:
    """Seconds since the cut-over, or None when its time is unknown or unreadable."""
    if not cut_over_at:
        return None
    try:
        moment = datetime.datetime.fromisoformat(cut_over_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (now - moment).total_seconds()
