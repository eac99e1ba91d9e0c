"""The cut-over and the fall-back of one service, step by step, each step gated and each
reversible (docs/migration.md).

cut-over:  lock → where does it stand → preflight → baseline of the Mesos side →
           for each canary share: tell the SDBs, wait until every SDB serves it, soak while
           the probe compares both sides (falls back at once when Kubernetes is worse or
           stops being ready) → Marathon to 0, its count and the time recorded on the app
fall-back: the share back to 0 first (Mesos preferred again), then Marathon back to the
           recorded count, gated; no request is lost on the way, since the Kubernetes side
           keeps answering until Mesos does.

Nothing is changed before the preflight passed (exit 2 otherwise); once a share was set,
a failure ends in a fall-back (exit 1). A signal stops the waiting and leaves the traffic
where the last step put it, saying how to continue or fall back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from skytrain import interrupts, lifecycle
from skytrain.backends.base import Backend, DeployOptions, DeployResult, LockHeld, Outcome, SchedulerError
from skytrain.backends.kubernetes.lock import holder_identity
from skytrain.config.build import DEPLOY_DIR, build_apps, parse_service
from skytrain.config.environments import Environments
from skytrain.config.model import SKYLINE_PORT, App
from skytrain.errors import ConfigErrors
from skytrain.migration import CUT_OVER_AT, PREVIOUS_INSTANCES, TO
from skytrain.migration.canary import Plan
from skytrain.migration.compare import Sample, Side, Tally, Thresholds, early, verdict
from skytrain.migration.edit import diff, with_scheduler
from skytrain.migration.live.observe import Live, Service, observe
from skytrain.migration.live.probe import Probe, ask
from skytrain.migration.live.store import ShareStore, utc_now
from skytrain.migration.phases import Phase, Standing, migrate_command, soaked_for, stand
from skytrain.migration.record import Kind, Probed, Step
from skytrain.outputs import write_file
from skytrain.progress import Reporter

BRIDGE_PORT = 5041
CHECK_SECONDS = 0.2  # how often a soaking step looks at the evidence and at Kubernetes
BASELINE_SECONDS = 2.0  # the longest the Mesos side's baseline is probed
POLL_SECONDS = 0.05  # how often an SDB is asked which share it serves
MESH_FAILURES = (502, 503, 504)


class Ending(StrEnum):
    DONE = "done"
    UNCHANGED = "unchanged"
    FELL_BACK = "fell back"  # a step failed; the share is back on Mesos (exit 1)
    FAILED = "failed"  # a step failed and so did the fall-back, or a fall-back failed (exit 1)
    REFUSED = "refused"  # a precondition did not hold; nothing was changed (exit 2)
    INTERRUPTED = "interrupted"


@dataclass
class Result:
    ending: Ending
    lines: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # each step taken, as it ended
    before: str = ""  # where the service stood when the run began (a phase's label)
    fell_back: str = ""  # why the run sent the traffic back to Mesos, if it did


class Refusal(Exception):
    """A precondition does not hold: say why and change nothing."""


class StepFailed(Exception):
    """A step could not be taken or did not pass: fall back."""


def endpoints(hosts: tuple[str, ...], port: int) -> list[tuple[str, int]]:
    """The environments file's `host` or `host:port` nodes (its schema checked them)."""
    out = []
    for text in hosts:
        host, _, given = text.partition(":")
        out.append((host, int(given) if given else port))
    return out


class Migration:
    """One service in one environment; `say` prints a line of progress as it happens."""

    def __init__(
        self,
        app: App,
        where: str,
        live: Live,
        plan: Plan,
        reporter: Reporter,
        say: Callable[[str], None],
        lock_wait: float,
    ):
        self.app, self.where, self.live, self.plan = app, where, live, plan
        self.reporter, self.say, self.lock_wait = reporter, say, lock_wait
        environment = app.environment
        self.sdbs = endpoints(environment.mesh.sdb_hosts, SKYLINE_PORT)
        self.workers = endpoints(environment.mesh.kubernetes_workers, BRIDGE_PORT)
        self.by = holder_identity()
        self.share = 0  # what the SDBs were last told
        self.result = Result(Ending.DONE)

    # -- the two operations --------------------------------------------------------------

    def cutover(self) -> Result:
        return self._locked(self._cutover_ready, self._cutover)

    def fallback(self, instances: int | None) -> Result:
        return self._locked(
            lambda standing: self._fallback_ready(standing, instances),
            lambda standing: self._fallback(standing, instances),
        )

    def finish(self, soak_seconds: float, remove: bool, dry_run: bool) -> Result:
        return self._locked(
            lambda standing: self._finish_ready(standing, soak_seconds),
            lambda standing: self._finish(standing, remove, dry_run),
            lock=remove and not dry_run,
        )

    def _cutover_ready(self, standing: Standing) -> None:
        if standing.phase not in (Phase.DUAL, Phase.CANARY, Phase.CUT_OVER):
            raise Refusal(self._not_now(standing, "a cut-over starts from dual (or resumes a canary)"))

    def _cutover(self, standing: Standing) -> None:
        if standing.phase is Phase.CUT_OVER:
            self._end(Ending.UNCHANGED, f"{self.app.name} is already cut over; nothing to do")
            return
        self._preflight()
        self.share = standing.share
        mesos = Side()
        self._baseline(mesos)
        previous = standing.seen.marathon.desired if standing.seen.marathon else 0
        for share in self.plan.remaining(standing.share):
            try:
                self.say(self._set_share(share, f"canary {share} %"))
                step = self._soak(share, mesos)
                self._took(step, self.say)
            except StepFailed as exc:
                step = Step(Kind.CANARY, False, str(exc), reason=str(exc), share=share)
                self._took(step, None)  # the fall-back's line says it
            if not step.passed:
                self._fall_back_now(f"step {share} % failed: {step.reason}", None)
                return
        scaled = lifecycle.scale(
            self._backend(self.live.marathon),
            self.app,
            0,
            self._options(),
            self.reporter,
            self.where,
            marks={PREVIOUS_INSTANCES: str(previous), CUT_OVER_AT: utc_now()},
        )
        self._scaled(scaled, f"Marathon scaled from {previous} to 0 instances, gated", 0)
        if not scaled.ok:
            self._fall_back_now("scaling Marathon to 0 failed", previous)
            return
        self.store.note(self.app.name, "cut over", self.by)
        self._end(
            Ending.DONE, f"{self.app.name} is cut over: Kubernetes serves every request; Marathon runs 0"
        )
        self.result.next_steps.append(
            f"after it has soaked (an hour by default): {self._command('finish', ' --yes')}"
        )

    def _fallback_ready(self, standing: Standing, instances: int | None) -> None:
        seen = standing.seen
        if not seen.config_marathon:
            raise Refusal(self._not_now(standing, "the config no longer places it on Marathon"))
        if seen.marathon is None:
            raise Refusal(
                f"there is no Marathon app of {self.app.name} to fall back to; deploy it first: "
                f"skytrain deploy {self.where} --env {seen.environment} --target marathon"
            )
        target = seen.marathon.desired or seen.previous_instances or instances
        if not target:
            raise Refusal(
                "Marathon runs no instance and no previous count is recorded on the app; "
                f"pass --instances N ({self._command('fallback', ' --instances N')})"
            )

    def _fallback(self, standing: Standing, instances: int | None) -> None:
        seen = standing.seen
        assert seen.marathon is not None, "_fallback_ready made sure"
        target = seen.marathon.desired or seen.previous_instances or instances
        if not seen.share and seen.marathon.desired:
            self._end(
                Ending.UNCHANGED, f"{self.app.name} is on Mesos already: no canary share, Marathon runs"
            )
            return
        self.share = seen.share or 0
        self.result.fell_back = "asked for with migrate fallback"
        self._fall_back(target if not seen.marathon.desired else None)
        if self.result.ending is Ending.DONE:
            self.result.lines.append(f"{self.app.name} is back on Mesos")

    def _finish_ready(self, standing: Standing, soak_seconds: float) -> None:
        seen = standing.seen
        at_zero = (
            seen.marathon is not None and seen.marathon.desired == 0 and seen.previous_instances is not None
        )
        edited = seen.config_kubernetes and not seen.config_marathon  # a finish without --yes ran
        if not (standing.phase is Phase.CUT_OVER or (edited and (at_zero or seen.marathon is None))):
            raise Refusal(self._not_now(standing, "finish needs a service that is cut over"))
        if seen.kubernetes is None or not seen.kubernetes.settled:
            raise Refusal(f"Kubernetes does not run {self.app.name} healthy now; nothing was changed")
        if seen.marathon is not None:
            soaked = soaked_for(seen.cut_over_at, datetime.datetime.now(datetime.UTC))
            if soaked is None or soaked < soak_seconds:
                since = (
                    f"{soaked / 60:.0f} min ago ({seen.cut_over_at})"
                    if soaked is not None
                    else "at an unknown time"
                )
                raise Refusal(
                    f"{self.app.name} was cut over {since}; it must soak {soak_seconds:g}s before finish "
                    "(or pass a shorter --soak); nothing was changed"
                )

    def _finish(self, standing: Standing, remove: bool, dry_run: bool) -> None:
        seen = standing.seen
        overlay = Path(self.where) / DEPLOY_DIR / f"{seen.environment}.yml"
        old = overlay.read_text()
        new = with_scheduler(old, TO, str(overlay))
        self._check_edit(overlay.name, new)
        change = diff(old, new, f"{DEPLOY_DIR}/{overlay.name}")
        self.say(change.rstrip("\n") or f"{overlay} already says {TO}")
        if dry_run:
            self.result.ending = Ending.UNCHANGED
            line = f"--dry-run: {overlay} not written; nothing live changed"
            self._took(Step(Kind.EDIT, True, line, file=str(overlay), diff=change), self.result.lines.append)
            return
        if new != old:
            write_file(overlay, new, "the overlay")
        line = f"{overlay} now says scheduler: {TO}: open a pull request with it"
        self._took(Step(Kind.EDIT, True, line, file=str(overlay), diff=change), self.result.lines.append)
        if not remove:
            self.result.next_steps.append(
                f"nothing live changed; to remove the Marathon app and the canary entry: {self._command('finish', ' --yes')}"
            )
            return
        if seen.marathon is not None:
            removed = self._backend(self.live.marathon).remove(self.app, self.plan.timeout_seconds)
            self._took(Step(Kind.REMOVE, True, removed), self.result.lines.append)
        self.store.forget(self.app.name)
        forgot = (
            f"forgot {self.app.name}'s canary share: the SDBs route it to Kubernetes by their catch-all once the "
            "pull request is merged and the routes regenerated (consul-template: at once, Marathon has no task)"
        )
        self._took(Step(Kind.FORGET, True, forgot), self.result.lines.append)

    def _check_edit(self, overlay: str, text: str) -> None:
        """The edited files still make a valid service that runs on Kubernetes only there."""
        directory = Path(self.where)
        texts = {p.name: p.read_text() for p in (directory / DEPLOY_DIR).glob("*.yml")}
        files = parse_service(str(directory), {**texts, overlay: text})
        environments = Environments(
            self.app.environment.name, {self.app.environment.name: self.app.environment}
        )
        try:
            build_apps(files, environments, only=[self.app.environment.name], each_file=False)
        except ConfigErrors as exc:
            raise Refusal(f"the edited {overlay} would not validate; nothing was changed:\n{exc}") from None

    # -- steps ------------------------------------------------------------------------------

    def _preflight(self) -> None:
        """Every check before anything changes; Refusal with all that failed."""
        problems = []
        status = lifecycle.status(self._backend(self.live.kubernetes), self.app)
        if not status.healthy:
            summary = status.error or "; ".join(o.summary for o in status.objects if not o.healthy)
            problems.append(f"Kubernetes does not pass its gate now ({summary or 'nothing runs'})")
        health = self.app.health_check.path if self.app.health_check else "/"
        for host, port in self.workers:
            answer = ask(host, port, f"/service/{self.app.name}{health}")
            if not _answered(answer.status, answer.body, healthy=True):
                problems.append(
                    f"the bridge at {host}:{port} does not answer /service/{self.app.name}{health} well "
                    f"({answer.error or answer.status})"
                )
        for dependency in self.app.dependencies:
            problems += self._reachable(dependency.name, dependency.namespace)
        if problems:
            refusal = "preflight failed, nothing was changed:\n  " + "\n  ".join(problems)
            self._took(Step(Kind.PREFLIGHT, False, refusal, reason="; ".join(problems)), None)
            raise Refusal(refusal)
        passed = (
            f"preflight passed: Kubernetes healthy, the bridge answers for {self.app.name} on "
            f"{len(self.workers)} worker(s), {len(self.app.dependencies)} dependencies reachable from Kubernetes"
        )
        self._took(Step(Kind.PREFLIGHT, True, passed), self.say)

    def _reachable(self, name: str, namespace: str) -> list[str]:
        """A dependency answers from Kubernetes' side: through the bridge's egress (a
        Mesos-resident one, by its cluster DNS name) or its ingress (one on Kubernetes)."""
        cluster_name = f"{name}.{namespace}.svc.cluster.local:8080"
        host, port = self.workers[0]
        answer = ask(host, port, "/", host_header=cluster_name)
        if not _answered(answer.status, answer.body, healthy=False):
            answer = ask(host, port, f"/service/{name}/")
        if _answered(answer.status, answer.body, healthy=False):
            return []
        return [f"dependency {name} does not answer from Kubernetes ({answer.error or answer.status})"]

    def _baseline(self, mesos: Side) -> None:
        seconds = min(self.plan.soak_seconds, BASELINE_SECONDS)
        tally, took = self._probe(seconds, lambda _: None)
        mesos.tries += tally.mesos.tries
        mesos.failures += tally.mesos.failures
        mesos.latencies_ms += tally.mesos.latencies_ms
        line = f"baseline ({seconds:g}s at {self.share} %): Mesos {tally.mesos}"
        probed = Probed.of(took, tally, None, tally.mesos)
        self._took(Step(Kind.BASELINE, True, line, share=self.share, probe=probed), self.say)

    def _set_share(self, share: int, what: str) -> str:
        """Tell the SDBs and wait until each serves the share (StepFailed when one does not);
        the line that says it."""
        self.store.set_share(self.app.name, share, what, self.by)
        self.share = share
        deadline = time.monotonic() + self.plan.timeout_seconds
        for host, port in self.sdbs:
            while not self._serves(host, port, share):
                if time.monotonic() >= deadline:
                    raise StepFailed(
                        f"the SDB at {host}:{port} did not serve the share {share} % within "
                        f"{self.plan.timeout_seconds:g}s (is consul-template, or the routes' apply, running?)"
                    )
                interrupts.wait(POLL_SECONDS)
        return f"the SDBs send {share} % of {self.app.name}'s requests to Kubernetes first"

    def _serves(self, host: str, port: int, share: int) -> bool:
        answer = ask(host, port, f"/skyline/canary/{self.app.name}")
        if share:
            return answer.status == 200 and answer.body.strip() == str(share).encode()
        return answer.status == 404

    def _soak(self, share: int, mesos: Side) -> Step:
        """Probe for the soak time; the step, failed with why Kubernetes is worse (at once
        when it is plain)."""
        limits = Thresholds(self.plan.max_error_rate_increase, self.plan.max_latency_increase_ms)
        kubernetes = Side()
        lock = threading.Lock()
        why: list[str] = []

        def check() -> bool:
            with lock:
                found = early(kubernetes, mesos, limits)
            found = found or self._kubernetes_unready()
            if found:
                why.append(found)
            return bool(found)

        def counted(sample: Sample) -> None:
            side = kubernetes if sample.kubernetes_first else mesos if sample.mesos_first else None
            if side is not None:
                with lock:
                    side.add(sample)

        tally, took = self._probe(self.plan.soak_seconds, counted, check)
        found = why[0] if why else verdict(kubernetes, mesos, limits)
        served = ", ".join(f"{who} {n}" for who, n in sorted(tally.served.items()))
        line = (
            f"step {share} %: {tally.requests} probe requests (served by {served}; {tally.caller_failures} failed "
            f"for the caller): Kubernetes {kubernetes}; Mesos {mesos}" + ("" if found else " — passed")
        )
        probed = Probed.of(took, tally, kubernetes, mesos)
        return Step(Kind.CANARY, not found, line, reason=found, share=share, probe=probed)

    def _probe(
        self, seconds: float, counted: Callable[[Sample], None], stop: Callable[[], bool] = lambda: False
    ) -> tuple[Tally, float]:
        """What the probe saw in `seconds` (less when `stop` says so), and how long it ran."""
        tally = Tally()
        lock = threading.Lock()

        def each(sample: Sample) -> None:
            with lock:
                tally.add(sample)
            counted(sample)

        probe = Probe(
            self.sdbs, f"/service/{self.app.name}{self.plan.probe_path}", self.plan.probe_rate, each
        )
        probe.start()
        started = time.monotonic()
        try:
            deadline = started + seconds
            while time.monotonic() < deadline:
                interrupts.wait(min(CHECK_SECONDS, max(0.0, deadline - time.monotonic())))
                if stop():
                    break
        finally:
            probe.stop()
        return tally, time.monotonic() - started

    def _kubernetes_unready(self) -> str | None:
        try:
            census = self._backend(self.live.kubernetes).census([self.app]).get(self.app.name)
        except SchedulerError as exc:
            return f"Kubernetes could not be read: {exc}"
        if census is None:
            return "the Deployment is gone from Kubernetes"
        if census.ready < census.desired:
            return f"Kubernetes is not ready any more: {census.ready} of {census.desired} replicas ready"
        return None

    def _fall_back_now(self, why: str, instances: int | None) -> None:
        """A step failed after traffic moved: back to Mesos, exit 1 either way."""
        self.say(f"{why}; falling back to Mesos")
        self.result.lines.append(why)
        self.result.fell_back = why
        self._fall_back(instances)
        if self.result.ending is Ending.DONE:
            self.result.ending = Ending.FELL_BACK
            self.result.lines.append(f"fell back: the SDBs prefer Mesos again for {self.app.name}")
        self.result.next_steps.append(f"when the Kubernetes side is fixed: {self._command('cutover')}")

    def _fall_back(self, instances: int | None) -> None:
        """The share back to 0 first, then (when it was cut over) Marathon back to `instances`."""
        try:
            self._took(Step(Kind.SHARE, True, self._set_share(0, "fall back"), share=0), self.say)
        except StepFailed as exc:
            self.result.ending = Ending.FAILED
            failed = Step(Kind.SHARE, False, f"the share is 0 in Consul, but {exc}", reason=str(exc), share=0)
            self._took(failed, self.result.lines.append)
        if instances is None:
            return
        scaled = lifecycle.scale(
            self._backend(self.live.marathon),
            self.app,
            instances,
            self._options(),
            self.reporter,
            self.where,
            marks={PREVIOUS_INSTANCES: None, CUT_OVER_AT: None},
        )
        self._scaled(scaled, f"Marathon scaled back to {instances} instances, gated", instances)
        if not scaled.ok and scaled.outcome is not Outcome.INTERRUPTED:
            self.result.ending = Ending.FAILED
        self.store.note(self.app.name, f"fell back to Mesos ({instances} instances)", self.by)

    def _scaled(self, scaled: DeployResult, what: str, instances: int) -> None:
        said = "; ".join(scaled.messages)
        step = Step(
            Kind.SCALE,
            scaled.ok,
            what if scaled.ok else f"Marathon: {scaled.outcome.value}: {said}",
            reason=None if scaled.ok else said or scaled.outcome.value,
            instances=instances,
            result=scaled.to_json(),
        )
        if scaled.outcome is Outcome.INTERRUPTED:
            self._took(step, None)  # the interrupt's lines say where it stopped
            raise interrupts.Interrupted()
        self._took(step, self.say if scaled.ok else self.result.lines.append)
        if scaled.running and not scaled.ok:
            self.result.lines.append(f"Marathon runs now: {scaled.running}")

    # -- frame ------------------------------------------------------------------------------

    def _locked(
        self, ready: Callable[[Standing], None], operation: Callable[[Standing], None], lock: bool = True
    ) -> Result:
        """Check where the service stands (nothing is locked for a request that cannot be
        done), then, holding the service's lock, check again and do it."""
        try:
            standing = self._standing()
            self.result.before = standing.label
            ready(standing)
            if not lock:
                operation(standing)
                return self.result
            with self._lock():
                standing = self._standing(quiet=True)
                ready(standing)
                operation(standing)
        except Refusal as exc:
            self._refused(str(exc))
        except LockHeld as exc:
            self._refused(f"{exc}; nothing was changed")
        except interrupts.Interrupted:
            self._interrupted()
        except SchedulerError as exc:
            self.result.ending = Ending.FAILED if self.share else Ending.REFUSED
            self.result.lines.append(f"{exc}")
            self._where_traffic_is()
        return self.result

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """The service's deploy lock (the one deploys take on Kubernetes) for the whole operation."""
        with self._backend(self.live.kubernetes).hold(
            self.app, DeployOptions(timeout_seconds=self.lock_wait)
        ):
            yield

    def _interrupted(self) -> None:
        self.result.ending = Ending.INTERRUPTED
        self.result.lines.append(f"{interrupts.signal_name()}: stopped; the steps taken so far stay")
        self._where_traffic_is()
        self.result.next_steps += [
            f"to continue the cut-over: {self._command('cutover')}",
            f"to fall back to Mesos: {self._command('fallback')}",
        ]

    def _where_traffic_is(self) -> None:
        self.result.lines.append(
            f"the SDBs were last told to send {self.share} % of {self.app.name}'s requests to Kubernetes first"
        )

    def _end(self, ending: Ending, line: str) -> None:
        self.result.ending = ending
        self.result.lines.append(line)

    def _refused(self, line: str) -> None:
        """Nothing was changed: that one line says why (the steps checked so far stay recorded)."""
        self.result = dataclasses.replace(self.result, ending=Ending.REFUSED, lines=[line], next_steps=[])

    def _took(self, step: Step, show: Callable[[str], None] | None) -> None:
        """Record a step taken and show its line: as progress (`self.say`), among the
        result's lines, or not at all (None: another line says it)."""
        self.result.steps.append(step)
        if show is not None:
            show(step.message)

    def now(self, app: App | None = None) -> Standing:
        """Where the service stands, read now from the schedulers and Consul; `app`: the
        service as its files say now, when they changed (finish edits them)."""
        (seen,) = observe(self.live, [Service(app or self.app, self.where)])
        return stand(seen)

    def _standing(self, quiet: bool = False) -> Standing:
        standing = self.now()
        if standing.seen.unreadable:
            raise Refusal(standing.seen.unreadable + "; nothing was changed")
        if not quiet:
            self.say(f"{self.app.name} in {standing.seen.environment}: {standing.label}")
        return standing

    def _command(self, verb: str, extra: str = "") -> str:
        return migrate_command(verb, self.where, self.app.environment.name, extra)

    @property
    def store(self) -> ShareStore:
        assert self.live.store is not None, "Live.of made the share store a migration needs"
        return self.live.store

    def _not_now(self, standing: Standing, needed: str) -> str:
        problem = f" ({standing.problem})" if standing.problem else ""
        fix = f"; next: {standing.next_command}" if standing.next_command else ""
        return f"{self.app.name} is {standing.label}{problem}: {needed}; nothing was changed{fix}"

    def _options(self) -> DeployOptions:
        return DeployOptions(timeout_seconds=self.plan.timeout_seconds)

    @staticmethod
    def _backend(backend: Backend | None) -> Backend:
        assert backend is not None, "Live.of made every backend a migration needs"
        return backend


def _answered(status: int, body: bytes, healthy: bool) -> bool:
    """The service itself answered (not the mesh saying it cannot reach it); `healthy`:
    and said so with a 2xx or 3xx."""
    if status == 0 or status in MESH_FAILURES or body.startswith(b"skyline: "):
        return False
    return status < 400 if healthy else status < 500
