"""`make demo`: the example fleet migrated end to end on an embedded control plane.

One environment (staging) runs on emulators started in this process on 127.0.0.1: Marathon
(tasks healthy shortly after launch) and a Kubernetes API with its controllers. The story is
told by running the real `skytrain` commands against them (deploy, diff, scale, rollback),
then the cut-over of giphy through real NGINX (when installed), then the same move guided by
`skytrain migrate` with a traffic canary (with an emulated Consul for the shares), then a
deploy that crash loops and is rolled back. Each step says what it expects; the demo exits 0 only when every
step did what it said. Nothing leaves 127.0.0.1, and everything stops by itself.

Run: `python -m skytrain.demo` from the repository (or `make demo`).
"""

from __future__ import annotations

import contextlib
import difflib
import http.client
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from skytrain.cli import main as skytrain
from skytrain.config import load_service
from skytrain.config.environments import Environment
from skytrain.config.model import App
from skytrain.emulators.consul import ConsulEmulator
from skytrain.emulators.mesh import Follower, LocalMesh, StandIn
from skytrain.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from skytrain.render.marathon import app_id
from skytrain.render.routing.canary import parse_share, share_key

if TYPE_CHECKING:
    from skytrain.emulators.platform import Platform

ENV = "staging"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FLEET = ("organization", "media", "giphy")  # Marathon only, Kubernetes only, both
CRASHING_TAG = "2.0-crash"  # the Kubernetes controllers drive this image into CrashLoopBackOff
REQUESTS = 20  # sent through the mesh per phase of the cut-over
SETTLE_SECONDS = 10.0  # how long a reloaded mesh may take to answer from the new side
GIPHY_PATH = "/service/giphy/search?q=cat"
# the canary of `migrate cutover`: few steps, a short soak, and a probe fast enough to reach
# Kubernetes at the first step; latency gets a wide margin, since on one machine the probe,
# NGINX and the stand-ins share the CPU (and `make test` runs other tests beside the demo)
CANARY = ("--steps", "20,50,100", "--soak", "0.3", "--probe-rate", "200", "--max-latency-increase-ms", "1000")
NO_NGINX = (
    "nginx is not installed, so the NGINX steps (nginx -t of the generated mesh, requests through it) "
    "are skipped: install it (Debian: apt-get install nginx-light) and run make demo again to see them."
)


class Story:
    """Prints the chapters and the commands, runs each command, and remembers every step
    that did not end as the story said it would."""

    def __init__(self, environments: Path) -> None:
        self.environments = environments
        self.surprises: list[str] = []
        self.started = time.monotonic()

    def chapter(self, title: str, text: str = "") -> None:
        print(f"\n=== {title} ===")
        if text:
            print(text)

    def say(self, line: str) -> None:
        print(f"  {line}")

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.surprises.append(what)
            print(f"!! unexpected: {what}")

    def run(self, *args: str, expect: int = EXIT_OK, build_tag: str | None = None) -> int:
        """`skytrain ARGS` in this process (the emulators live here too), with BUILD_TAG set as CI would."""
        if build_tag is not None:
            os.environ["BUILD_TAG"] = build_tag
        shown = " ".join(display(a) for a in args)
        print(f"\n$ {'BUILD_TAG=' + build_tag + ' ' if build_tag else ''}skytrain {shown}", flush=True)
        code = skytrain([*args, "--environments", str(self.environments)])
        sys.stdout.flush()
        sys.stderr.flush()
        print(f"  (exit {code})")
        self.expect(code == expect, f"`skytrain {shown}` exited {code}, expected {expect}")
        return code

    def end(self) -> int:
        seconds = time.monotonic() - self.started
        if self.surprises:
            print(f"\ndemo FAILED after {seconds:.1f}s: {len(self.surprises)} step(s) did not go as told:")
            for surprise in self.surprises:
                print(f"  - {surprise}")
            return EXIT_FAILED
        print(f"\ndemo done in {seconds:.1f}s: every step went as told; all emulators and NGINX stopped.")
        return EXIT_OK


def display(arg: str) -> str:
    """Example paths as a user in the repository would type them."""
    path = Path(arg)
    return str(path.relative_to(ROOT)) if path.is_absolute() and path.is_relative_to(ROOT) else arg


def service(name: str) -> str:
    return str(EXAMPLES / name)


def fleet(environments: Path) -> tuple[Environment, list[App]]:
    apps = []
    for name in FLEET:
        loaded, by_env = load_service(EXAMPLES / name, str(environments), only=[ENV], environ={})
        apps.append(by_env[ENV])
    return loaded[ENV], apps


def deploy_the_fleet(story: Story) -> None:
    story.chapter(
        "1. Deploy the fleet",
        "organization runs on Marathon, media on Kubernetes, giphy (migrating) on both.\n"
        "Every deploy is gated: Marathon tasks healthy, Kubernetes replicas ready with endpoints.",
    )
    story.run("deploy", *map(service, FLEET), "--env", ENV, build_tag="1.0")


def diff_and_change(story: Story) -> None:
    story.chapter("2. Diff against live, then change the config", "Nothing changed yet: the diff says so.")
    story.run("diff", service("giphy"), "--env", ENV, "--exit-code", build_tag="1.0")
    story.say("CI builds a new image: BUILD_TAG=1.1. The diff shows what a deploy would restart.")
    story.run("diff", service("giphy"), "--env", ENV, "--exit-code", expect=3, build_tag="1.1")
    story.run("deploy", service("giphy"), "--env", ENV, build_tag="1.1")


def fetch(port: int, path: str) -> str:
    """One GET through the mesh; who answered (a stand-in's name), or the error."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
        return json.loads(body)["who"] if response.status == 200 else f"HTTP {response.status}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return f"{type(exc).__name__}"
    finally:
        conn.close()


def answered(answers: Counter[str]) -> str:
    return ", ".join(f"{n} from {who}" for who, n in answers.most_common())


class CutOver:
    """giphy's cut-over through the Skyline mesh: the routes are regenerated from what runs
    on Marathon (an app with healthy tasks keeps its Mesos location in the SDB), and, with
    nginx, requests through the real local proxy → SDB → bridge say who answered."""

    def __init__(self, story: Story, platform: Platform, root: Path, nginx: str | None) -> None:
        self.story, self.platform, self.nginx, self.root = story, platform, nginx, root
        environment, self.apps = fleet(story.environments)
        root.mkdir()
        self.mesh = LocalMesh(root, environment, nginx or "nginx")
        self.kubernetes = {name: StandIn(f"{name}@kubernetes") for name in ("giphy", "media")}
        self.mesos = {name: StandIn(f"{name}@mesos") for name in ("giphy", "organization")}
        self.sdb = ""

    def mesos_nodes(self) -> dict[str, list[str]]:
        """The live catalogue: a Marathon app's stand-in, while Marathon has healthy tasks for it
        (the app found by its Marathon id, which a group in the environments file prefixes)."""
        marathon = self.platform.marathon[ENV]
        ids = {app.name: app_id(app) for app in self.apps}
        return {
            name: [stand_in.address] if (marathon.app(ids[name]) or {}).get("tasksHealthy") else []
            for name, stand_in in self.mesos.items()
        }

    def configs(
        self, mesos_nodes: Mapping[str, Sequence[str]], shares: Mapping[str, int] | None = None
    ) -> dict[str, str]:
        return self.mesh.configs(
            self.apps, mesos_nodes, {n: s.address for n, s in self.kubernetes.items()}, shares
        )

    def regenerate(self) -> dict[str, str]:
        """New configs; prints what changed in the SDB's."""
        configs = self.configs(self.mesos_nodes())
        sdb = configs["sdb.conf"]
        if self.sdb:
            changed = [
                line
                for line in difflib.unified_diff(self.sdb.splitlines(), sdb.splitlines(), lineterm="", n=0)
                if line[:1] in "+-" and line[:3] not in ("+++", "---") and line[1:].strip()
            ]
            self.story.say("regenerated sdb.conf, what changed:")
            for line in changed or ["(no change)"]:
                self.story.say(f"    {line.strip()}")
        self.sdb = sdb
        return configs

    def apply(self) -> None:
        configs = self.regenerate()
        if self.nginx and self.mesh.servers:
            changed = [role for role, did in self.mesh.apply(configs).items() if did]
            self.story.say(f"nginx -t passed; reloaded: {', '.join(changed) or 'nothing (unchanged)'}")

    def traffic(self, expected: str) -> None:
        """Requests through the local proxy: first until `expected` answers (NGINX's old workers
        finish the connections they hold after a reload), then REQUESTS that must all reach it."""
        if not self.nginx:
            return
        port = self.mesh.ports["local"]
        settling: Counter[str] = Counter()
        deadline = time.monotonic() + SETTLE_SECONDS
        while (who := fetch(port, GIPHY_PATH)) != expected and time.monotonic() < deadline:
            settling[who] += 1
        if settling:
            self.story.say(f"while the reload settled: {answered(settling)}")
        answers = Counter(fetch(port, GIPHY_PATH) for _ in range(REQUESTS))
        self.story.say(f"{REQUESTS} requests to http://127.0.0.1:{port}{GIPHY_PATH}: {answered(answers)}")
        self.story.expect(answers == Counter({expected: REQUESTS}), f"every request answered by {expected}")

    def run(self) -> None:
        story = self.story
        story.chapter(
            "3. Cut giphy over from Mesos to Kubernetes",
            "The mesh: local proxy (:5040 on every agent) → SDB → Mesos tasks, or the skyline-bridge → Kubernetes.",
        )
        if self.nginx:
            story.say("The fleet's mesh for staging, generated and checked with nginx -t:")
            story.run(
                "routes",
                "--fleet",
                str(EXAMPLES),
                "--env",
                ENV,
                "--out",
                str(self.root.with_name("routes")),
                "--check",
            )
            self.mesh.start(self.regenerate())
            story.say(f"started real NGINX ({self.nginx}): local proxy, SDB and bridge on 127.0.0.1")
        else:
            self.regenerate()
            story.say(NO_NGINX)
            story.say("The regenerated SDB lines are shown instead.")
        self.traffic("giphy@mesos")
        story.run("scale", service("giphy"), "--env", ENV, "--target", "marathon", "--instances", "0")
        self.mesos["giphy"].stop()  # the Mesos tasks are gone
        self.apply()
        self.traffic("giphy@kubernetes")

        story.say("Fall back: scale Marathon up again; once its tasks are healthy Mesos answers again.")
        story.run("scale", service("giphy"), "--env", ENV, "--target", "marathon", "--instances", "2")
        self.mesos["giphy"] = StandIn("giphy@mesos")  # new tasks, new ports
        self.apply()
        self.traffic("giphy@mesos")

    def stop(self) -> None:
        self.mesh.stop()
        for stand_in in (*self.kubernetes.values(), *self.mesos.values()):
            stand_in.stop()


# what the SDB is made of: giphy's share, and each Mesos service's healthy tasks
SdbState = tuple[int, tuple[tuple[str, tuple[str, ...]], ...]]


class Canary:
    """giphy moved again, guided by `skytrain migrate` through the same real NGINX: the canary
    shares live in an emulated Consul, and a Follower plays consul-template, regenerating and
    reloading the SDB whenever a share or Marathon's tasks change."""

    def __init__(self, cut_over: CutOver, consul: ConsulEmulator) -> None:
        self.cut_over, self.consul = cut_over, consul
        self.reloads: list[str] = []

    def share(self) -> int:
        return parse_share(self.consul.value(share_key(ENV, "giphy")) or "0") or 0

    def state(self) -> SdbState:
        return self.share(), tuple(
            (name, tuple(nodes)) for name, nodes in self.cut_over.mesos_nodes().items()
        )

    def apply(self, state: SdbState) -> None:
        share, nodes = state
        self.cut_over.mesh.apply(self.cut_over.configs(dict(nodes), {"giphy": share} if share else {}))
        self.reloads.append(f"{share} %" + ("" if dict(nodes)["giphy"] else " (no Mesos task)"))

    def said_reloads(self) -> None:
        self.cut_over.story.say(
            f"the SDB was regenerated and reloaded for the shares: {', '.join(self.reloads)}"
        )
        self.reloads.clear()

    def aim(self, environments: Path) -> None:
        """Staging's mesh in the environments file: this NGINX and this Consul."""
        import yaml

        ports = self.cut_over.mesh.ports
        document = yaml.safe_load(environments.read_text())
        document["environments"][ENV]["mesh"] = {
            "mesosAgents": ["127.0.0.1"],
            "kubernetesWorkers": [f"127.0.0.1:{ports['bridge']}"],
            "sdbHosts": [f"127.0.0.1:{ports['sdb']}"],
            "consul": self.consul.url,
        }
        environments.write_text(yaml.safe_dump(document, sort_keys=False))

    def run(self) -> None:
        story, cut_over = self.cut_over.story, self.cut_over
        giphy = display(service("giphy"))
        self.aim(story.environments)
        story.say(
            f"staging's mesh now names the NGINX above and an emulated Consul ({self.consul.url}) for the "
            "shares; an agent regenerates and reloads the SDB when a share or Marathon's tasks change, "
            "as consul-template does."
        )
        with Follower(self.state, self.apply, self.state()) as follower:
            self.consul.on_change.append(follower.wake)
            story.run("migrate", "cutover", giphy, "--env", ENV, *CANARY)
            cut_over.traffic("giphy@kubernetes")
            self.said_reloads()
            story.run("migrate", "fallback", giphy, "--env", ENV)
            cut_over.traffic("giphy@mesos")
            self.said_reloads()
        story.run("migrate", "status", "--fleet", display(str(EXAMPLES)), "--env", ENV)


def migrate_giphy(story: Story, cut_over: CutOver) -> None:
    story.chapter(
        "4. The same move, guided: skytrain migrate",
        "migrate cutover sends a growing share of giphy's requests to Kubernetes first through the SDB, a probe\n"
        "compares both sides at each step (falling back by itself when Kubernetes is worse), then scales\n"
        "Marathon to 0. Here three steps of 0.3 s each; in production, minutes each.",
    )
    if not cut_over.nginx:
        story.say(NO_NGINX)
        return
    before = story.environments.read_text()
    try:  # from the repository, so that the commands migrate suggests read as typed
        with ConsulEmulator() as consul, contextlib.chdir(ROOT):
            Canary(cut_over, consul).run()
    finally:
        story.environments.write_text(before)


def failing_deploy(story: Story, platform: Platform) -> None:
    story.chapter(
        "5. A deploy that crash loops",
        f"Image giphy:{CRASHING_TAG} crashes on start. The gate fails fast (no waiting for the\n"
        "timeout), prints the evidence and rolls back to the running version.",
    )
    story.run(
        "deploy",
        service("giphy"),
        "--env",
        ENV,
        "--target",
        "kubernetes",
        expect=EXIT_FAILED,
        build_tag=CRASHING_TAG,
    )
    image = platform.kubernetes_image(ENV)
    story.say(f"giphy on Kubernetes runs {image} again")
    story.expect(image is not None and image.endswith(":1.1"), "the rollback restored giphy:1.1")


def demo_environments(platform: Platform, path: Path) -> Path:
    """The examples' environments file with staging aimed at the emulators (as the platform's own
    file says); dev and production stay as the platform team wrote them and are never contacted."""
    import yaml

    document = yaml.safe_load((EXAMPLES / "skytrain-environments.yml").read_text())
    emulated = yaml.safe_load(platform.environments.read_text())["environments"][ENV]
    document["environments"][ENV].update(emulated)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@contextlib.contextmanager
def control_plane() -> Iterator[tuple[Platform, Path]]:
    """The emulated staging platform, its kubeconfig and credentials in this process's environment."""
    from skytrain.emulators.kubernetes_controllers import CRASH_LOOP
    from skytrain.emulators.platform import emulated_platform

    with tempfile.TemporaryDirectory(prefix="skytrain-demo-") as tmp:
        root = Path(tmp)
        (root / "platform").mkdir()
        with emulated_platform(
            root / "platform", healthy_after=0.1, names=(ENV,), by_image={f":{CRASHING_TAG}": CRASH_LOOP}
        ) as platform:
            os.environ.update(platform.process_env())
            os.environ.pop("KUBERNETES_SERVICE_HOST", None)
            yield platform, root


def main() -> int:
    from skytrain.backends.nginx import find_nginx

    try:
        import kmock  # noqa: F401  (the Kubernetes emulator is built on it)
    except ModuleNotFoundError:
        print(
            "The demo runs an emulated Kubernetes API, which needs kmock: "
            "pip install -e '.[emulators]' (make demo installs it).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print("skytrain demo: the example fleet migrated end to end on an embedded control plane")
    with control_plane() as (platform, root):
        environments = demo_environments(platform, root / "skytrain-environments.yml")
        story = Story(environments)
        story.say(f"Marathon 1.7 emulator:  {platform.marathon[ENV].url}")
        story.say(f"Kubernetes emulator:    {platform.kubernetes[ENV].address} (kubeconfig context '{ENV}')")
        story.say(f"environments file:      {environments} (staging → the emulators)")
        deploy_the_fleet(story)
        diff_and_change(story)
        cut_over = CutOver(story, platform, root / "mesh", find_nginx())
        try:
            cut_over.run()
            migrate_giphy(story, cut_over)
        finally:
            cut_over.stop()
        failing_deploy(story, platform)
        return story.end()


if __name__ == "__main__":
    sys.exit(main())
