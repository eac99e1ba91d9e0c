"""Is the Kubernetes side worse than the Mesos side? (pure)

Each probe request through the SDB comes back with what the SDB says about it: the route
it took (`canary`: Kubernetes first; `mesos`: Mesos first), each upstream try's status and
time, and who answered in the end. The first try of a request is its side's own answer,
whatever a retry made of it for the caller, so:

- a side's error rate is the share of its first tries that failed (5xx, or no answer);
- its latency is the 95th percentile of its successful first tries.

While a step soaks, `early` stops it as soon as the evidence is overwhelming (a one-sided
binomial test: that many Kubernetes failures would happen with probability under 1/1000
if Kubernetes erred no more than the threshold above Mesos), so a bad version meets few
requests; when the soak ends, `verdict` compares the observed rates and latencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

EVIDENCE = 0.001  # how unlikely the failures must be under "no worse" to stop early
# fewer successful first tries on a side than this say nothing about its p95: with 5, the
# p95 is the slowest request, and one slow answer at a 5 % step would fall back
MIN_LATENCY_SAMPLES = 20


@dataclass(frozen=True)
class Sample:
    """One probe request through the SDB, as its answer headers describe it."""

    route: str  # X-Skyline-Route: canary, mesos, kubernetes, none
    statuses: tuple[str, ...]  # X-Skyline-Upstream-Status, one per try
    times: tuple[str, ...]  # X-Skyline-Upstream-Time, one per try (seconds)
    served_by: str  # X-Skyline-Served-By
    status: int  # what the caller got (0: no answer at all)

    @property
    def kubernetes_first(self) -> bool:
        """The SDB sent it to Kubernetes first (the canary's location)."""
        return self.route == "canary"

    @property
    def mesos_first(self) -> bool:
        return self.route == "mesos"

    @property
    def first_failed(self) -> bool:
        first = self.statuses[0] if self.statuses else ""
        return not first.isdigit() or int(first) >= 500

    @property
    def first_ms(self) -> float | None:
        try:
            return float(self.times[0]) * 1000 if self.times else None
        except ValueError:
            return None


def sample_from_headers(headers: dict[str, str], status: int) -> Sample:
    """A Sample from an answer's headers (names in lower case)."""

    def listed(name: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in headers.get(name, "").replace(":", ",").split(",") if p.strip())

    return Sample(
        route=headers.get("x-skyline-route", ""),
        statuses=listed("x-skyline-upstream-status"),
        times=listed("x-skyline-upstream-time"),
        served_by=headers.get("x-skyline-served-by", ""),
        status=status,
    )


@dataclass
class Side:
    tries: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def add(self, sample: Sample) -> None:
        self.tries += 1
        if sample.first_failed:
            self.failures += 1
        elif sample.first_ms is not None:
            self.latencies_ms.append(sample.first_ms)

    @property
    def error_rate(self) -> float:
        return self.failures / self.tries if self.tries else 0.0

    @property
    def p95_ms(self) -> float | None:
        if len(self.latencies_ms) < MIN_LATENCY_SAMPLES:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]

    def to_json(self) -> dict[str, Any]:
        p95 = self.p95_ms
        return {
            "tries": self.tries,
            "failures": self.failures,
            "errorRate": round(self.error_rate, 4),
            "p95Ms": None if p95 is None else round(p95, 1),
        }

    def __str__(self) -> str:
        p95 = self.p95_ms
        latency = f", p95 {p95:.1f} ms" if p95 is not None else ""
        return f"{self.failures} of {self.tries} failed ({self.error_rate:.1%}){latency}"


@dataclass
class Tally:
    """What the probe saw of both sides (the Mesos side also from earlier steps and the
    baseline, which keeps the 100 % step comparable), and what reached the callers."""

    kubernetes: Side = field(default_factory=Side)
    mesos: Side = field(default_factory=Side)
    served: dict[str, int] = field(default_factory=dict)  # who answered, as callers saw it
    caller_failures: int = 0  # answers the probe got that were failures (5xx or none)
    requests: int = 0

    def add(self, sample: Sample) -> None:
        self.requests += 1
        if sample.kubernetes_first:
            self.kubernetes.add(sample)
        elif sample.mesos_first:
            self.mesos.add(sample)
        self.served[sample.served_by or "none"] = self.served.get(sample.served_by or "none", 0) + 1
        if sample.status == 0 or sample.status >= 500:
            self.caller_failures += 1


@dataclass(frozen=True)
class Thresholds:
    max_error_rate_increase: float
    max_latency_increase_ms: float


def _tail(tries: int, failures: int, rate: float) -> float:
    """P(X >= failures) for X ~ Binomial(tries, rate)."""
    if failures <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    if rate >= 1:
        return 1.0

    def pmf(k: int) -> float:  # in logarithms: a large number of tries overflows a float otherwise
        ways = math.lgamma(tries + 1) - math.lgamma(k + 1) - math.lgamma(tries - k + 1)
        return math.exp(ways + k * math.log(rate) + (tries - k) * math.log1p(-rate))

    return max(0.0, 1.0 - sum(pmf(k) for k in range(failures)))


def early(kubernetes: Side, mesos: Side, limits: Thresholds) -> str | None:
    """Why to stop now, when the Kubernetes failures already prove it worse; else None."""
    allowed = min(1.0, mesos.error_rate + limits.max_error_rate_increase)
    if kubernetes.failures >= 2 and _tail(kubernetes.tries, kubernetes.failures, allowed) < EVIDENCE:
        return _worse(kubernetes, mesos)
    return None


def verdict(kubernetes: Side, mesos: Side, limits: Thresholds) -> str | None:
    """At the end of a soak: why the Kubernetes side is worse, or None when it is not."""
    if kubernetes.tries == 0:
        return "no probe request reached Kubernetes during the soak, so nothing shows it works"
    if kubernetes.error_rate - mesos.error_rate > limits.max_error_rate_increase:
        return _worse(kubernetes, mesos)
    slow, fast = kubernetes.p95_ms, mesos.p95_ms
    if slow is not None and fast is not None and slow - fast > limits.max_latency_increase_ms:
        return (
            f"Kubernetes is slower: p95 {slow:.1f} ms against Mesos' {fast:.1f} ms "
            f"(more than {limits.max_latency_increase_ms:g} ms slower)"
        )
    return None


def _worse(kubernetes: Side, mesos: Side) -> str:
    return f"Kubernetes errs more: {kubernetes} of its first tries, Mesos {mesos}"
