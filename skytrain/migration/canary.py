"""The canary's plan (pure): the steps, how long each soaks, how the probe runs and when
the Kubernetes side counts as worse; from the service's `migration:` settings, overridden
by the command line. `describe` is what `--dry-run` prints."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from skytrain.config.model import App


@dataclass(frozen=True)
class Plan:
    steps: tuple[int, ...]  # shares in percent, rising, ending at 100
    soak_seconds: float
    probe_path: str  # under /service/<name>
    probe_rate: float  # requests per second
    max_error_rate_increase: float  # fraction
    max_latency_increase_ms: float
    timeout_seconds: float  # a Marathon scale's gate; the SDBs taking a new share

    def remaining(self, share: int) -> tuple[int, ...]:
        """The steps still to take from the share the SDB serves now (that one is soaked again)."""
        return tuple(step for step in self.steps if step >= share)


def plan_for(app: App, **overrides: object) -> Plan:
    """The plan of `app`; an override of None keeps the service's setting."""
    settings = app.migration
    health = app.health_check.path if app.health_check else "/"
    plan = Plan(
        steps=settings.canary_steps,
        soak_seconds=settings.soak_seconds,
        probe_path=settings.probe_path or health,
        probe_rate=settings.probe_rate,
        max_error_rate_increase=settings.max_error_rate_increase,
        max_latency_increase_ms=settings.max_latency_increase_ms,
        timeout_seconds=float(app.deploy.gate_timeout_seconds),
    )
    return dataclasses.replace(plan, **{k: v for k, v in overrides.items() if v is not None})


def describe(plan: Plan, name: str, environment: str, instances: int) -> list[str]:
    """The steps of a cut-over, as --dry-run prints them."""
    soak = f"{plan.soak_seconds:g}s"
    lines = [
        f"preflight: the config says both for {environment}; Kubernetes passes its gate now; the bridge on "
        f"every Kubernetes worker answers /service/{name}{plan.probe_path}; every dependency answers through "
        "the bridge; a baseline probe of the Mesos side",
    ]
    for number, share in enumerate(plan.steps, 1):
        lines.append(
            f"step {number}: the SDB sends {share} % of {name}'s requests to Kubernetes first (Mesos retried for "
            f"idempotent ones); a probe at {plan.probe_rate:g}/s for {soak} compares both sides; falls back at once "
            f"when Kubernetes errs {plan.max_error_rate_increase:.1%} more or is {plan.max_latency_increase_ms:g} ms "
            "slower at p95, or stops being ready"
        )
    lines.append(
        f"then: Marathon scaled to 0 (gated, within {plan.timeout_seconds:g}s), its {instances} instances and the "
        "time recorded on the app for `fallback` and `finish`"
    )
    return lines
