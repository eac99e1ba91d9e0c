"""The local platform `skytrain dev up` starts: one emulated Marathon and one emulated
Kubernetes cluster (with its controllers) on 127.0.0.1, holding three environments (dev,
staging, production) that never write one object: each its own Marathon group (`/staging`)
and its own namespace. A small control endpoint beside them reports what runs and arms
faults on purpose, so people can watch the gates fail and roll back.

It runs as one background process (`python -m skytrain.emulators.local --dir DIR`), which
writes into DIR the environments file, the kubeconfig and `platform.json` (its pid and
addresses), tells whoever started it that it is ready, and runs until SIGTERM or SIGINT.
The command side (starting, stopping, asking) is skytrain/commands/dev.py.

A fault is armed for the *next* rollout of what it matches, on each scheduler it names:
the deploy that follows fails (or is slow), and the rollback after it, a new rollout
itself, runs as usual. `5xx` answers the next requests with 503 instead.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from skytrain.emulators.kubernetes import ClusterEmulator, kubeconfig, serve
from skytrain.emulators.kubernetes_controllers import CRASH_LOOP, IMAGE_PULL, SLOW, Controller
from skytrain.emulators.local_layout import (
    ENVIRONMENTS,
    ENVIRONMENTS_FILE,
    ERROR_COUNT,
    FAULTS,
    KUBECONFIG_FILE,
    LOG_FILE,
    SLOW_SECONDS,
    STATE_FILE,
    TARGETS,
)
from skytrain.emulators.marathon import Behaviour, MarathonEmulator
from skytrain.emulators.standalone import signals_held, wait_for_stop
from skytrain.outputs import write_file

MARATHON_VERSION = "1.7"
HEALTHY_AFTER = 0.1  # seconds from a task's launch to passing its health check


class BadFault(ValueError):
    """A fault that cannot be armed as asked; the message says why."""


@dataclass
class Fault:
    """One fault on purpose: what it does, where, and on each scheduler what arms it there."""

    kind: str
    environment: str | None
    service: str | None
    seconds: float
    count: int
    # target → (is it still armed there?, disarm it there)
    armed: dict[str, tuple[Callable[[], bool], Callable[[], None]]] = field(default_factory=dict)

    def describe(self) -> str:
        where = f"{self.service or 'any service'} in {self.environment or 'any environment'}"
        what = {
            "crash-loop": f"the next rollout of {where} crash-loops",
            "image-pull": f"the next rollout of {where} cannot pull its image",
            "slow": f"the next rollout of {where} takes {self.seconds:g}s",
            "5xx": f"the next {self.count} requests about {where} answer 503",
        }[self.kind]
        return f"{what} ({', '.join(self.armed)})"

    def pending(self) -> list[str]:
        return [target for target, (still, _) in self.armed.items() if still()]

    def disarm(self) -> None:
        for _, disarm in self.armed.values():
            disarm()


class LocalPlatform:
    """Both emulators and the controllers, and the faults armed on them."""

    def __init__(self, healthy_after: float = HEALTHY_AFTER) -> None:
        self.marathon = MarathonEmulator(flavour=MARATHON_VERSION, behaviour=Behaviour.healthy(healthy_after))
        self._serving = serve()
        self.cluster: ClusterEmulator | None = None
        self.controller: Controller | None = None
        self.faults: list[Fault] = []
        self.started = datetime.datetime.now(datetime.UTC)

    def __enter__(self) -> LocalPlatform:
        self.marathon.start()
        self.cluster = self._serving.__enter__()
        self.controller = Controller(self.cluster)
        for name in ENVIRONMENTS:
            self.cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return self

    def __exit__(self, *exc: object) -> None:
        if self.controller is not None:
            self.controller.stop()
        self._serving.__exit__(*exc)
        self.marathon.stop()

    @property
    def kubernetes_url(self) -> str:
        assert self.cluster is not None
        return self.cluster.address

    def arm(
        self,
        kind: str,
        environment: str | None = None,
        service: str | None = None,
        targets: tuple[str, ...] = TARGETS,
        seconds: float = SLOW_SECONDS,
        count: int = ERROR_COUNT,
    ) -> Fault:
        """Arm a fault (see the module) on each of `targets`; raises BadFault for a request
        that makes no sense, before anything is armed."""
        if kind not in FAULTS:
            raise BadFault(f"no fault called {kind!r}; the faults are {', '.join(FAULTS)}")
        if environment is not None and environment not in ENVIRONMENTS:
            raise BadFault(f"no environment {environment!r}; the platform has {', '.join(ENVIRONMENTS)}")
        if service is not None and not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", service):
            raise BadFault(f"{service!r} is not a service name (lowercase letters, digits and dashes)")
        if not targets or set(targets) - set(TARGETS):
            raise BadFault(f"the targets are {' and '.join(TARGETS)}")
        if not 0 < seconds <= 3600 or not 0 < count <= 10000:
            raise BadFault("seconds is more than 0 and at most 3600, count more than 0 and at most 10000")
        fault = Fault(kind, environment, service, seconds, count)
        for target in targets:
            fault.armed[target] = (self._arm_marathon if target == "marathon" else self._arm_kubernetes)(
                fault
            )
        self.faults.append(fault)
        return fault

    def _arm_marathon(self, fault: Fault) -> tuple[Callable[[], bool], Callable[[], None]]:
        if fault.kind == "5xx":
            path = "/".join(["/v2/apps", *filter(None, (fault.environment, fault.service))])
            injected = self.marathon.inject(status=503, count=fault.count, path_prefix=path)
            return (lambda: injected.count > 0), lambda: setattr(injected, "count", 0)
        behaviour = {
            "crash-loop": Behaviour.crashing(),
            "image-pull": Behaviour.pull_failure(),
            "slow": Behaviour(run_after=fault.seconds, healthy_after=HEALTHY_AFTER),
        }[fault.kind]

        def matches(app_id: str) -> bool:
            environment, _, name = app_id.strip("/").partition("/")
            return fault.environment in (None, environment) and fault.service in (None, name)

        armed = self.marathon.behave_next(behaviour, matches)
        return (lambda: armed in self.marathon.armed), lambda: self.marathon.disarm(armed)

    def _arm_kubernetes(self, fault: Fault) -> tuple[Callable[[], bool], Callable[[], None]]:
        assert self.cluster is not None and self.controller is not None
        controller = self.controller
        if fault.kind == "5xx":
            namespace = f"/namespaces/{re.escape(fault.environment)}/" if fault.environment else ""
            about = f".*{re.escape(fault.service)}" if fault.service else ""
            injected = self.cluster.fail(None, namespace + about or ".", code=503, times=fault.count)
            return (lambda: injected.times > 0), lambda: setattr(injected, "times", 0)
        behaviour = {"crash-loop": CRASH_LOOP, "image-pull": IMAGE_PULL, "slow": SLOW}[fault.kind]
        armed = controller.behave_next(
            behaviour,
            lambda namespace, name: fault.environment in (None, namespace) and fault.service in (None, name),
            fault.seconds,
        )
        return (lambda: armed in controller.armed), lambda: controller.disarm(armed)

    def clear(self) -> int:
        """Disarm every fault not yet spent; how many there were."""
        pending = [f for f in self.faults if f.pending()]
        for fault in self.faults:
            fault.disarm()
        self.faults.clear()
        return len(pending)

    def state(self) -> dict[str, Any]:
        """What runs: the addresses, each environment's services on both schedulers, and the
        faults still armed."""
        return {
            "pid": os.getpid(),
            "started": self.started.isoformat(timespec="seconds"),
            "marathon": self.marathon.url,
            "kubernetes": self.kubernetes_url,
            "deployed": {name: self._services(name) for name in ENVIRONMENTS},
            "faults": [f.describe() for f in self.faults if f.pending()],
        }

    def _services(self, environment: str) -> list[dict[str, Any]]:
        assert self.cluster is not None
        found = []
        for app in self._marathon_apps(environment):
            image = (app.get("container") or {}).get("docker", {}).get("image", "")
            ready = f"{app['tasksHealthy'] if app.get('healthChecks') else app['tasksRunning']}/{app['instances']}"
            deploying = " (deploying)" if app["deployments"] else ""
            name = app["id"].rpartition("/")[2]
            found.append({"service": name, "target": "marathon", "image": image, "ready": ready + deploying})
        for deployment in self.cluster.list("Deployment", environment):
            status = deployment.get("status") or {}
            containers = deployment["spec"]["template"]["spec"]["containers"]
            ready = f"{status.get('readyReplicas', 0)}/{deployment['spec'].get('replicas', 1)}"
            found.append(
                {
                    "service": deployment["metadata"]["name"],
                    "target": "kubernetes",
                    "image": containers[0].get("image", ""),
                    "ready": ready,
                }
            )
        return sorted(found, key=lambda s: (s["service"], s["target"]))

    def _marathon_apps(self, environment: str) -> list[dict[str, Any]]:
        ids = [app_id for app_id in self.marathon.app_ids() if app_id.startswith(f"/{environment}/")]
        return [app for app in map(self.marathon.app, ids) if app is not None]


# ---- the control endpoint ----------------------------------------------------------------


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    platform: LocalPlatform


class _ControlHandler(BaseHTTPRequestHandler):
    """GET /status; POST /faults {kind, environment, service, targets, seconds, count}; DELETE /faults."""

    server: _ControlServer

    def do_GET(self) -> None:
        if self.path == "/status":
            self._answer(200, self.server.platform.state())
        else:
            self._answer(404, {"error": f"no {self.path} here: GET /status, POST or DELETE /faults"})

    def do_POST(self) -> None:
        if self.path != "/faults":
            self._answer(404, {"error": f"no {self.path} here: POST /faults"})
            return
        try:
            asked = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            fault = self.server.platform.arm(
                str(asked.get("kind")),
                asked.get("environment"),
                asked.get("service"),
                tuple(asked.get("targets") or TARGETS),
                float(asked.get("seconds") or SLOW_SECONDS),
                int(asked.get("count") or ERROR_COUNT),
            )
        except (BadFault, ValueError, TypeError, AttributeError) as exc:
            self._answer(400, {"error": str(exc)})
            return
        self._answer(200, {"armed": fault.describe()})

    def do_DELETE(self) -> None:
        if self.path == "/faults":
            self._answer(200, {"cleared": self.server.platform.clear()})
        else:
            self._answer(404, {"error": f"no {self.path} here: DELETE /faults"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextlib.contextmanager
def control_endpoint(platform: LocalPlatform) -> Iterator[str]:
    """The control endpoint on 127.0.0.1 (random port) for the block; yields its URL."""
    server = _ControlServer(("127.0.0.1", 0), _ControlHandler)
    server.platform = platform
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="dev-control", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---- the files it leaves for the user ------------------------------------------------------


def environments_file(marathon: str) -> str:
    lines = [
        "# Written by `skytrain dev up`: the local platform's environments, on one emulated Marathon",
        "# (each environment its own group) and one emulated Kubernetes cluster (each its own namespace).",
        "environments:",
    ]
    for name in ENVIRONMENTS:
        lines += [
            f"  {name}:",
            f"    description: {name} on the local platform (skytrain dev up)",
            f"    marathon: {{url: '{marathon}', version: '{MARATHON_VERSION}', group: /{name}}}",
            f"    kubernetes: {{context: {name}, namespace: {name}}}",
        ]
    return "\n".join(lines) + "\n"


def write_files(directory: Path, platform: LocalPlatform, control: str) -> dict[str, Any]:
    """The environments file, the kubeconfig and platform.json (written last: once it is
    there, everything it names is); returns what platform.json says."""
    directory = directory.resolve()
    state = {
        "pid": os.getpid(),
        "started": platform.started.isoformat(timespec="seconds"),
        "marathon": platform.marathon.url,
        "kubernetes": platform.kubernetes_url,
        "control": control,
        "environments": str(directory / ENVIRONMENTS_FILE),
        "kubeconfig": str(directory / KUBECONFIG_FILE),
        "log": str(directory / LOG_FILE),
    }
    write_file(directory / ENVIRONMENTS_FILE, environments_file(platform.marathon.url), "--dir")
    contexts = dict.fromkeys(ENVIRONMENTS, platform.kubernetes_url)
    write_file(directory / KUBECONFIG_FILE, kubeconfig(contexts, {n: n for n in ENVIRONMENTS}), "--dir")
    write_file(directory / STATE_FILE, json.dumps(state, indent=2) + "\n", "--dir")
    return state


def forget(directory: Path) -> None:
    """Remove platform.json when it still names this process (a new platform may own it)."""
    state = directory / STATE_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(state.read_text()).get("pid") == os.getpid():
            state.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m skytrain.emulators.local",
        description="The local platform's process; start it with `skytrain dev up`.",
    )
    parser.add_argument("--dir", type=Path, required=True, help="where to write its files")
    parser.add_argument("--ready-fd", type=int, help="a pipe to write 'ready' to once everything answers")
    parser.add_argument("--healthy-after", type=float, default=HEALTHY_AFTER, metavar="SECONDS")
    args = parser.parse_args(argv)
    with signals_held(), LocalPlatform(args.healthy_after) as platform, control_endpoint(platform) as control:
        try:
            write_files(args.dir, platform, control)
            if args.ready_fd is not None:
                with os.fdopen(args.ready_fd, "w") as ready:
                    ready.write("ready\n")
            print(
                f"local platform up: Marathon {platform.marathon.url}, Kubernetes {platform.kubernetes_url}",
                flush=True,
            )
            wait_for_stop()
        finally:
            forget(args.dir)
    print("local platform stopped", flush=True)


if __name__ == "__main__":
    main()
