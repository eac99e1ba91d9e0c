"""The Marathon backend: deploy an app definition, gate it, roll back, scale, read status.

Deploy is one `PUT /v2/apps/{id}?partialUpdate=false` (creates or replaces, so a field
removed from the config is removed from the app). Everything that changes the app
returns a deployment; the gate (gate.py) waits for it. On a failed gate we roll back:
while our deployment still runs, `DELETE /v2/deployments/{id}` (no force) makes
Marathon revert it; once it is gone, we redeploy the previous version from
`/v2/apps/{id}/versions`. The rollback is gated too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from skytrain.backends.base import (
    DeployOptions,
    DeployResult,
    GateResult,
    ObjectStatus,
    Outcome,
    StatusResult,
)
from skytrain.backends.marathon.client import (
    DeploymentRef,
    Invalid,
    Locked,
    MarathonClient,
    MarathonError,
    Unreachable,
)
from skytrain.backends.marathon.fields import refusal_errors
from skytrain.backends.marathon.gate import Gate, GateTarget
from skytrain.config.model import App
from skytrain.progress import Reporter
from skytrain.render.hashing import HASH_LABEL_MARATHON
from skytrain.render.marathon import READ_ONLY_KEYS
from skytrain.render.marathon import app_id as marathon_app_id

TARGET = "marathon"
HISTORY = 10


class MarathonBackend:
    target = TARGET

    def __init__(self, client: MarathonClient, gate: Gate | None = None):
        self.client = client
        self.gate = gate or Gate(client)

    # ---- deploy ---------------------------------------------------------------------

    def deploy(
        self, app: App, objects: list[dict[str, Any]], options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        definition = objects[0]
        app_id = definition["id"]
        result = self._result(app, Outcome.DEPLOYED)
        try:
            live = self.client.find_app(app_id)
            result.previous_revision = live.get("version") if live else None
            if live is not None and _matches(live, definition):
                result.outcome, result.revision = Outcome.UNCHANGED, live.get("version")
                result.gate = GateResult(True, summary="the running app already has this config")
                reporter.update(self._subject(app), "unchanged", f"version {live.get('version')}")
                return result
            reporter.update(self._subject(app), "applying", f"PUT /v2/apps{app_id}")
            ref = self._apply(
                app,
                options,
                reporter,
                result,
                lambda force: self.client.put_app(app_id, definition, force),
                lambda: self._adopt(app_id, definition),
            )
            if ref is None:
                return result
            return self._gate_and_recover(app, ref, live, options, reporter, result)
        except Invalid as exc:
            # a refusal after sending: exit 1 (DESIGN.md), but said like a config error
            result.outcome = Outcome.FAILED
            result.messages.extend(str(e) for e in sorted(refusal_errors(app, exc.details, str(exc))))
            result.messages.append(f"Marathon refused the app (HTTP {exc.status}); nothing was changed.")
            return result
        except MarathonError as exc:
            return self._refused(result, exc)

    def _apply(
        self,
        app: App,
        options: DeployOptions,
        reporter: Reporter,
        result: DeployResult,
        send: Callable[[bool], DeploymentRef],
        recover: Callable[[], DeploymentRef],
    ) -> DeploymentRef | None:
        """Send a change; on 409 locked wait for the other deployment or, with force,
        supersede it (None: gave up waiting, the result says why). When the answer is lost
        in a timeout, `recover` finds out from the app what happened."""
        try:
            return send(False)
        except Locked as exc:
            others = ", ".join(exc.deployments)
            if options.force:
                result.messages.append(f"superseded deployment {others} in progress (--force)")
                reporter.note(f"{self._subject(app)}: superseding deployment {others} (--force)")
                return send(True)
            reporter.note(f"{self._subject(app)}: waiting for deployment {others} to finish")
            waited = self._wait_for_deployments(exc.deployments, options.gate_timeout(app))
            if waited is None:
                result.outcome = Outcome.FAILED
                result.messages.append(
                    f"deployment {others} was still running after {options.gate_timeout(app):g}s; nothing "
                    "was changed. Wait for it, or pass --force to supersede it."
                )
                return None
            result.messages.append(f"waited {waited:.1f}s for deployment {others} to finish")
            return send(False)
        except Unreachable as exc:
            if not exc.timed_out:
                raise
            return recover()

    def _adopt(self, app_id: str, definition: dict[str, Any]) -> DeploymentRef:
        """The PUT timed out: Marathon may or may not have taken it. Read the app back; if it
        carries our config, follow its deployment; if not, send the PUT once more."""
        live = self.client.find_app(app_id)
        if live is not None and _same_config(live, definition):
            return self._follow(app_id)
        return self.client.put_app(app_id, definition, force=False)

    def _gate_and_recover(
        self,
        app: App,
        ref: DeploymentRef,
        live: dict[str, Any] | None,
        options: DeployOptions,
        reporter: Reporter,
        result: DeployResult,
    ) -> DeployResult:
        result.revision = ref.version
        result.messages.append(f"deployment {ref.id} started" if ref.id else "applied")
        if not options.wait:
            result.outcome = Outcome.STARTED
            return result
        target = GateTarget(marathon_app_id(app), ref.id, ref.version)
        result.gate = self.gate.wait(target, options.gate_timeout(app), reporter, self._subject(app))
        if result.gate.passed:
            result.outcome = Outcome.DEPLOYED
            reporter.update(self._subject(app), "deployed", f"version {ref.version}")
            return result
        result.outcome = result.gate.not_passed
        if options.rolls_back(app):
            self._roll_back_failed(app, ref, live, options, reporter, result)
        else:
            result.messages.append("left in place for debugging (--no-rollback)")
        return result

    def _roll_back_failed(
        self,
        app: App,
        ref: DeploymentRef,
        live: dict[str, Any] | None,
        options: DeployOptions,
        reporter: Reporter,
        result: DeployResult,
    ) -> None:
        app_id = marathon_app_id(app)
        running = {d["id"] for d in self.client.deployments()}
        if ref.id in running:
            reporter.note(f"{self._subject(app)}: reverting deployment {ref.id}")
            revert = self.client.cancel_deployment(ref.id)
            how = f"reverted deployment {ref.id} (Marathon restores what ran before)"
        elif live is not None:
            reporter.note(f"{self._subject(app)}: redeploying version {live['version']}")
            revert = self.client.restore_version(app_id, live["version"], force=True)
            how = f"redeployed the previous version {live['version']}"
        else:
            revert = self.client.delete_app(app_id)
            how = "removed the new app (there was no previous version)"
        result.messages.append(how)
        target = GateTarget(app_id, revert.id, revert.version, removal=live is None)
        result.rollback_gate = self.gate.wait(
            target, options.gate_timeout(app), reporter, self._subject(app) + " rollback"
        )
        if result.rollback_gate.passed:
            result.outcome = Outcome.ROLLED_BACK
            result.revision = None if live is None else self.client.get_app(app_id).get("version")
        else:
            result.outcome = Outcome.ROLLBACK_FAILED

    # ---- rollback and scale ---------------------------------------------------------

    def rollback(
        self, app: App, to_revision: str | None, options: DeployOptions, reporter: Reporter
    ) -> DeployResult:
        def restore(app_id: str, live: dict[str, Any], result: DeployResult) -> DeployResult:
            versions = self.client.versions(app_id)
            version = to_revision or self._previous_config(app_id, live, versions)
            if version is None:
                return self._refused(
                    result, MarathonError(f"{app_id} has no earlier configuration to roll back to")
                )
            if version not in versions:
                recorded = ", ".join(versions[:HISTORY])
                return self._refused(
                    result,
                    MarathonError(f"{app_id} has no recorded version {version}; recorded: {recorded}"),
                )
            reporter.update(self._subject(app), "rolling back", f"to version {version}")
            return self._change_and_gate(
                app,
                options,
                reporter,
                result,
                lambda force: self.client.restore_version(app_id, version, force),
                f"restored the config of version {version}",
            )

        return self._on_live_app(app, "to roll back", restore)

    def _previous_config(self, app_id: str, live: dict[str, Any], versions: list[str]) -> str | None:
        """The newest version before the current one with a different config (not a mere scale)."""
        current = live.get("labels", {}).get(HASH_LABEL_MARATHON)
        for version in versions:
            if version >= live.get("version", ""):
                continue
            definition = self.client.version(app_id, version)
            if current is None or definition.get("labels", {}).get(HASH_LABEL_MARATHON) != current:
                return version
        return None

    def scale(self, app: App, replicas: int, options: DeployOptions, reporter: Reporter) -> DeployResult:
        def change(app_id: str, live: dict[str, Any], result: DeployResult) -> DeployResult:
            reporter.update(self._subject(app), "scaling", f"{live.get('instances')} → {replicas} instances")
            return self._change_and_gate(
                app,
                options,
                reporter,
                result,
                lambda force: self.client.scale_app(app_id, replicas, force),
                f"scaled from {live.get('instances')} to {replicas} instances",
            )

        return self._on_live_app(app, "to scale; deploy it first", change)

    def _on_live_app(
        self,
        app: App,
        missing: str,
        step: Callable[[str, dict[str, Any], DeployResult], DeployResult],
    ) -> DeployResult:
        """Rollback and scale act on the app as it runs: refused when there is none, and any
        Marathon error on the way ends as a failed result that says why."""
        app_id = marathon_app_id(app)
        result = self._result(app, Outcome.DEPLOYED)
        try:
            live = self.client.find_app(app_id)
            if live is None:
                return self._refused(result, MarathonError(f"there is no app {app_id} {missing}"))
            result.previous_revision = live.get("version")
            return step(app_id, live, result)
        except MarathonError as exc:
            return self._refused(result, exc)

    def _change_and_gate(
        self,
        app: App,
        options: DeployOptions,
        reporter: Reporter,
        result: DeployResult,
        send: Callable[[bool], DeploymentRef],
        done: str,
    ) -> DeployResult:
        """A rollback's or a scale's change, then its gate (no rollback of its own)."""
        ref = self._apply(app, options, reporter, result, send, lambda: self._follow(marathon_app_id(app)))
        if ref is None:
            return result
        result.messages.append(done)
        return self._gate_only(app, ref, options, reporter, result)

    def _follow(self, app_id: str) -> DeploymentRef:
        """After a lost answer to a rollback or scale (which Marathon may have taken), follow
        whatever deployment the app has now."""
        live = self.client.get_app(app_id)
        running = live.get("deployments") or []
        return DeploymentRef(running[0]["id"] if running else "", live.get("version", ""))

    def _gate_only(
        self, app: App, ref: DeploymentRef, options: DeployOptions, reporter: Reporter, result: DeployResult
    ) -> DeployResult:
        """Gate a rollback or a scale; on failure say so and leave it (there is nothing to go back to)."""
        result.revision = ref.version
        if not options.wait:
            result.outcome = Outcome.STARTED
            return result
        target = GateTarget(marathon_app_id(app), ref.id, ref.version)
        result.gate = self.gate.wait(target, options.gate_timeout(app), reporter, self._subject(app))
        if result.gate.passed:
            reporter.update(self._subject(app), "deployed", f"version {ref.version}")
            result.outcome = Outcome.DEPLOYED
        else:
            result.outcome = result.gate.not_passed
        return result

    # ---- reading --------------------------------------------------------------------

    def status(self, app: App) -> StatusResult:
        app_id = marathon_app_id(app)
        result = StatusResult(app.name, app.environment.name, TARGET, exists=False, healthy=False)
        live = self.client.find_app(app_id)
        if live is None:
            return result
        result.exists = True
        result.revision = live.get("version")
        instances = live.get("instances", 0)
        checks = bool(live.get("healthChecks"))
        ready = live.get("tasksHealthy", 0) if checks else live.get("tasksRunning", 0)
        deploying = [d["id"] for d in live.get("deployments", [])]
        result.healthy = ready == instances and live.get("tasksUnhealthy", 0) == 0 and not deploying
        summary = f"{ready}/{instances} {'healthy' if checks else 'running (no health checks)'}"
        if deploying:
            summary += f", deployment {', '.join(deploying)} in progress"
        details: dict[str, Any] = {
            key: live.get(key)
            for key in ("instances", "tasksStaged", "tasksRunning", "tasksHealthy", "tasksUnhealthy")
        }
        if live.get("lastTaskFailure"):
            failure = live["lastTaskFailure"]
            details["lastTaskFailure"] = {
                k: failure.get(k) for k in ("taskId", "state", "message", "timestamp", "version")
            }
        result.objects.append(ObjectStatus(f"app {app_id}", result.healthy, summary, details))
        result.history = [{"version": v} for v in self.client.versions(app_id)[:HISTORY]]
        return result

    def live_objects(self, apps: list[App]) -> dict[str, list[dict[str, Any]]]:
        """The app definitions as Marathon returns them, read-only keys stripped, for the diff."""
        found: dict[str, list[dict[str, Any]]] = {}
        for app in apps:
            live = self.client.find_app(marathon_app_id(app))
            found[app.name] = (
                [] if live is None else [{k: v for k, v in live.items() if k not in READ_ONLY_KEYS}]
            )
        return found

    # ---- helpers --------------------------------------------------------------------

    def _wait_for_deployments(self, ids: list[str], timeout: float) -> float | None:
        """Seconds waited until none of these deployments is listed, or None on timeout."""
        start = self.gate.clock()
        while True:
            running = {d["id"] for d in self.client.deployments()}
            waited = self.gate.clock() - start
            if not running.intersection(ids):
                return waited
            if waited >= timeout:
                return None
            self.gate.sleep()

    def _result(self, app: App, outcome: Outcome) -> DeployResult:
        return DeployResult(app.name, app.environment.name, TARGET, outcome)

    @staticmethod
    def _refused(result: DeployResult, exc: MarathonError) -> DeployResult:
        result.outcome = Outcome.FAILED
        result.messages.append(str(exc))
        return result

    @staticmethod
    def _subject(app: App) -> str:
        return f"{app.environment.name}/{app.name} marathon"


def _matches(live: dict[str, Any], definition: dict[str, Any]) -> bool:
    """Same config (by skytrain's hash label), same instances, and nothing deploying."""
    return (
        _same_config(live, definition)
        and live.get("instances") == definition.get("instances")
        and not live.get("deployments")
    )


def _same_config(live: dict[str, Any], definition: dict[str, Any]) -> bool:
    ours = definition.get("labels", {}).get(HASH_LABEL_MARATHON)
    return ours is not None and live.get("labels", {}).get(HASH_LABEL_MARATHON) == ours
