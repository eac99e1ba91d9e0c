"""The live diff end to end: deploy the giphy example with the real backend to the
Kubernetes emulator and to the Marathon emulator (1.4 and 1.7 flavours), then diff what
the files render against what the emulator answers, in-process and through the CLI.

The emulators answer with more than they were given (uid, resourceVersion, clusterIP,
Marathon's version, tasks and defaults, the 1.5 form for a 1.4 body), so an unchanged
service diffing as unchanged proves the normalisation against a real round trip."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from diff_helpers import rendered_html, table_rows

from skytrain import lifecycle
from skytrain.backends.base import DeployOptions, Outcome
from skytrain.config import load_service
from skytrain.config.model import App
from skytrain.diff.compare import Action, DiffResult
from skytrain.diff.plan import diff_live
from skytrain.emulators.kubernetes import ClusterEmulator, write_kubeconfig
from skytrain.emulators.marathon import MarathonEmulator
from skytrain.progress import NullReporter
from skytrain.render.kubernetes import owner_labels
from skytrain.render.marathon import app_id
from skytrain.schedulers import backend, render

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT_NAMES = ("dev", "staging", "production")
LIVE_SECRET = "live-api-key-never-print-7731"
OBJECTS = {"kubernetes": 3, "marathon": 1}  # ConfigMap, Service, Deployment; one Marathon app

# (target, Marathon flavour): the Kubernetes cases need one Marathon, any flavour
TARGETS = pytest.mark.parametrize(
    ("target", "marathon_emulator"),
    [
        pytest.param("kubernetes", "1.7", id="kubernetes"),
        pytest.param("marathon", "1.4", id="marathon-1.4"),
        pytest.param("marathon", "1.7", id="marathon-1.7"),
    ],
    indirect=["marathon_emulator"],
)


@dataclass
class Fleet:
    """A copy of examples/giphy whose environments all point at the two emulators (each
    environment in its own Marathon group, as environments sharing one Marathon must be)."""

    directory: Path
    environments: Path
    kube: ClusterEmulator
    kubeconfig: Path
    marathon: MarathonEmulator

    def overlay(self, text: str, env: str = "staging") -> None:
        (self.directory / "deploy" / f"{env}.yml").write_text(text)

    def load(self, tag: str = "1", env: str = "staging") -> App:
        _, apps = load_service(self.directory, str(self.environments), [env], environ={"BUILD_TAG": tag})
        return apps[env]

    def deploy(self, target: str, env: str = "staging") -> None:
        app = self.load(env=env)
        result = lifecycle.deploy(
            backend(target, app.environment),
            app,
            render(app, target),
            DeployOptions(timeout_seconds=5),
            NullReporter(),
        )
        assert result.outcome is Outcome.DEPLOYED, result.messages

    def live(self, target: str) -> list[dict]:
        app = self.load()
        return backend(target, app.environment).live_objects([app])[app.name]

    def diff(self, target: str, tag: str = "1") -> DiffResult:
        app = self.load(tag)
        live = backend(target, app.environment).live_objects([app])
        [result] = diff_live([app], target, live)
        return result

    def cli(self, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARATHON_")}
        env.update(
            PYTHONPATH=str(ROOT),
            NO_COLOR="1",
            BUILD_TAG="1",
            KUBECONFIG=str(self.kubeconfig),
            SKYTRAIN_MARATHON_TIMEOUT="2",
        )
        env.update(environ)
        command = [sys.executable, "-m", "skytrain", "diff", str(self.directory)]
        return subprocess.run(
            [*command, "--environments", str(self.environments), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )


def environments_file(path: Path, marathon: MarathonEmulator, flavour: str) -> Path:
    path.write_text(
        "environments:\n"
        + "".join(
            f"  {name}:\n    marathon:\n      url: {marathon.url}\n      version: '{flavour}'\n      group: /{name}\n"
            f"    kubernetes:\n      context: {name}\n      namespace: default\n"
            for name in ENVIRONMENT_NAMES
        )
    )
    return path


@pytest.fixture
def fleet(tmp_path: Path, kube_cluster, marathon_emulator: MarathonEmulator) -> Fleet:
    flavour = "1.4" if marathon_emulator.legacy else "1.7"
    directory = shutil.copytree(ROOT / "examples" / "giphy", tmp_path / "giphy")
    emulator, _, kubeconfig = kube_cluster
    environments = environments_file(tmp_path / "environments.yml", marathon_emulator, flavour)
    return Fleet(directory, environments, emulator, kubeconfig, marathon_emulator)


def changes(result: DiffResult) -> dict[str, tuple[str, bool]]:
    """{JSON pointer: (object kind, restarts)} of every field change, the hash stamps left out."""
    return {
        c.path: (o.kind, c.restarts)
        for o in result.objects
        for c in o.changes
        if "config-hash" not in c.path and "CONFIG_HASH" not in c.path
    }


# -- no change ------------------------------------------------------------------------


@TARGETS
def test_what_was_deployed_diffs_as_unchanged_after_the_round_trip(fleet, target):
    fleet.deploy(target)
    live = fleet.live(target)
    assert live != render(fleet.load(), target)  # the server did add its own fields

    result = fleet.diff(target)

    assert not result.changed, [(o.title, o.changes) for o in result.objects]
    assert result.summary()["unchanged"] == OBJECTS[target]
    done = fleet.cli("--env", "staging", "--target", target, "--exit-code")
    assert done.returncode == 0, done.stderr
    assert "no changes" in done.stdout


def test_a_1_5_server_given_the_1_4_form_diffs_as_unchanged(fleet, marathon_emulator):
    """The environments file still says 1.4, the Marathon (1.7) answers in the 1.5 form."""
    environments_file(fleet.environments, marathon_emulator, "1.4")
    fleet.deploy("marathon")
    [live] = fleet.live("marathon")
    assert "networks" in live and "portMappings" in live["container"]  # the 1.5 form, not what was sent

    result = fleet.diff("marathon")

    assert not result.changed, [(o.title, o.changes) for o in result.objects]


# -- changes --------------------------------------------------------------------------

# change → (tag, staging overlay, {target: (JSON pointer, kind, restarts)})
CHANGES = {
    "image": (
        "2",
        "",
        {
            "kubernetes": ("/spec/template/spec/containers/0/image", "Deployment", True),
            "marathon": ("/container/docker/image", "App", True),
        },
    ),
    "env": (
        "1",
        "env:\n  LOG_LEVEL: warn\n",
        {
            "kubernetes": ("/data/LOG_LEVEL", "ConfigMap", True),
            "marathon": ("/env/LOG_LEVEL", "App", True),
        },
    ),
    "replicas": (
        "1",
        "replicas: 5\n",
        {"kubernetes": ("/spec/replicas", "Deployment", False), "marathon": ("/instances", "App", False)},
    ),
    "health check": (
        "1",
        "healthCheck:\n  path: /healthz\n",
        {
            "kubernetes": (
                "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
                "Deployment",
                True,
            ),
            "marathon": ("/healthChecks/0/path", "App", True),
        },
    ),
}


@TARGETS
def test_each_change_is_reported_with_its_path_and_whether_it_restarts(fleet, target):
    fleet.deploy(target)
    for name, (tag, overlay, expected) in CHANGES.items():
        fleet.overlay(overlay)
        result = fleet.diff(target, tag)
        path, kind, restarts = expected[target]
        assert changes(result).get(path) == (kind, restarts), (name, changes(result))
        assert result.restarts is restarts, name
        assert result.summary()["changed"] >= 1 and result.summary()["removed"] == 0, name

    fleet.overlay("replicas: 5\n")
    done = fleet.cli("--env", "staging", "--target", target, "--format", "json", "--exit-code")
    assert done.returncode == 3, done.stderr
    [result] = json.loads(done.stdout)["results"]
    [changed] = [o for o in result["objects"] if o["action"] == "changed"]
    pointer = CHANGES["replicas"][2][target][0]
    assert changed["changes"] == [{"path": pointer, "op": "replace", "old": 2, "new": 5, "restarts": False}]


@TARGETS
def test_a_scale_since_the_deploy_shows_as_a_replica_change_that_restarts_nothing(fleet, target):
    fleet.deploy(target)
    app = fleet.load()
    scaled = lifecycle.scale(
        backend(target, app.environment), app, 4, DeployOptions(timeout_seconds=5), NullReporter()
    )
    assert scaled.outcome is Outcome.DEPLOYED, scaled.messages

    result = fleet.diff(target)

    pointer, kind, _ = CHANGES["replicas"][2][target]
    [(changed, change)] = [(o, c) for o in result.objects for c in o.changes]
    assert changed.kind == kind
    assert (change.path, change.old, change.new, change.restarts) == (pointer, 4, 2, False)
    assert result.summary()["changed"] == 1 and not result.restarts


def test_the_env_configmap_shows_as_removed_when_the_config_no_longer_has_env(fleet):
    fleet.deploy("kubernetes")
    application = fleet.directory / "deploy" / "application.yml"
    text = application.read_text()
    without_env = text.replace("env:\n  LOG_LEVEL: info\n  GIPHY_RATING: pg\n", "")
    application.write_text(without_env.replace("dependencies:\n  - organization\n  - media\n", ""))

    result = fleet.diff("kubernetes")

    actions = {o.title: o.action for o in result.objects}
    assert actions["ConfigMap default/giphy-env"] is Action.REMOVED
    assert actions["Deployment default/giphy"] is Action.CHANGED
    assert result.summary()["removed"] == 1
    done = fleet.cli("--env", "staging", "--target", "kubernetes", "--exit-code")
    assert done.returncode == 3, done.stderr
    assert "- ConfigMap default/giphy-env (removed" in done.stdout


# -- secrets --------------------------------------------------------------------------


def plant_kubernetes_secrets(fleet: Fleet) -> None:
    """Someone with kubectl put the API key in as a literal on the container and in the
    ConfigMap, next to an owned Secret holding it."""

    def literal_on_container(deployment: dict) -> None:
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        container["env"] = [e for e in container.get("env", []) if e["name"] != "GIPHY_API_KEY"]
        container["env"].append({"name": "GIPHY_API_KEY", "value": LIVE_SECRET})

    fleet.kube.modify("Deployment", "default", "giphy", literal_on_container)
    # the env ConfigMap is immutable: deleted and created again with the key in it
    [configmap] = fleet.kube.list("ConfigMap", "default", "skytrain.io/generated-from=giphy-env")
    fleet.kube.delete("ConfigMap", "default", configmap["metadata"]["name"])
    configmap["data"]["GIPHY_API_KEY"] = LIVE_SECRET
    fleet.kube.create({k: v for k, v in configmap.items() if k != "status"})
    labels = owner_labels(fleet.load())
    encoded = base64.b64encode(LIVE_SECRET.encode()).decode()
    fleet.kube.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "giphy", "namespace": "default", "labels": labels},
            "data": {"api-key": encoded},
        }
    )


def plant_marathon_secret(fleet: Fleet) -> None:
    """The API key as a literal env value of the running Marathon app."""
    app = fleet.load()
    [definition] = render(app, "marathon")
    definition.pop("secrets", None)
    definition["env"]["GIPHY_API_KEY"] = LIVE_SECRET
    url = f"{fleet.marathon.url}/v2/apps{app_id(app)}?force=true&partialUpdate=false"
    answer = requests.put(url, json=definition, timeout=5)
    assert answer.status_code in (200, 201), answer.text


@TARGETS
def test_no_format_prints_a_secret_found_in_live_state(fleet, target):
    fleet.deploy(target)
    if target == "kubernetes":
        plant_kubernetes_secrets(fleet)
    else:
        plant_marathon_secret(fleet)
    forbidden = (LIVE_SECRET, base64.b64encode(LIVE_SECRET.encode()).decode())

    for output_format in ("text", "markdown", "json"):
        done = fleet.cli("--env", "staging", "--target", target, "--format", output_format, "--exit-code")
        assert done.returncode == 3, done.stderr  # the literal is a change, and it is shown as one
        assert "redacted" in done.stdout, output_format
        for secret in forbidden:
            assert secret not in done.stdout + done.stderr, output_format


# -- live state unreadable ----------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_unreadable(done: subprocess.CompletedProcess[str], target: str, *never: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"could not read what runs on {target} in staging" in done.stderr
    assert done.stdout == ""
    for secret in never:
        assert secret not in done.stdout + done.stderr


def test_a_stopped_kubernetes_api_is_exit_1_with_the_reason(fleet, tmp_path):
    dead = write_kubeconfig(tmp_path / "dead-kubeconfig", f"http://127.0.0.1:{closed_port()}")

    done = fleet.cli("--env", "staging", "--target", "kubernetes", KUBECONFIG=str(dead))

    assert_unreadable(done, "kubernetes", "emulator-token")
    assert "could not reach the Kubernetes API listing configmaps" in done.stderr
    assert "connection refused" in done.stderr


def test_a_kubernetes_api_answering_500_is_exit_1_with_the_reason(fleet):
    fleet.kube.fail("GET", "configmaps", 500, times=50)

    done = fleet.cli("--env", "staging", "--target", "kubernetes")

    assert_unreadable(done, "kubernetes", "emulator-token")
    assert "the Kubernetes API answered 500" in done.stderr
    assert "listing configmaps in namespace default (kubeconfig context staging)" in done.stderr


def test_a_marathon_answering_500_is_exit_1_with_the_reason(fleet):
    fleet.marathon.inject(500, count=50)

    done = fleet.cli("--env", "staging", "--target", "marathon")

    assert_unreadable(done, "marathon")
    assert "500" in done.stderr


def test_marathon_refusing_the_credentials_is_exit_1_without_printing_them(fleet, tmp_path):
    password = "wr0ng-pa55-never-print"
    with MarathonEmulator(credentials=("deployer", "right-password")) as secured:
        environments = environments_file(tmp_path / "secured.yml", secured, "1.7")
        done = fleet.cli(
            "--env",
            "staging",
            "--target",
            "marathon",
            "--environments",
            str(environments),
            MARATHON_USER="deployer",
            MARATHON_PASSWORD=password,
        )

    basic = base64.b64encode(f"deployer:{password}".encode()).decode()
    assert_unreadable(done, "marathon", password, basic)
    assert "401" in done.stderr


# -- the pull-request comment across targets -------------------------------------------


def test_markdown_for_all_environments_and_targets_agrees_with_the_json(fleet):
    fleet.deploy("kubernetes")
    fleet.deploy("marathon")
    fleet.overlay("replicas: 3\n")  # staging: scaled on both targets; dev, production: not deployed

    markdown = fleet.cli("--all-envs", "--format", "markdown")
    as_json = fleet.cli("--all-envs", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)

    assert markdown.returncode == 0, markdown.stderr
    rows = {(r["environment"], r["target"]): r for r in table_rows(rendered_html(markdown.stdout))}
    assert set(rows) == {(e, t) for e in ENVIRONMENT_NAMES for t in fleet.load(env=e).schedulers}
    assert len(rows) == 5  # production runs on Marathon only
    assert len(data["results"]) == len(rows)
    for result in data["results"]:
        row = rows[(result["environment"], result["target"])]
        for action, count in result["summary"].items():
            assert int(row[action]) == count, (result["environment"], result["target"], action)
        assert row["restarts"] == ("yes" if result["restarts"] else "no")
    staging = {r["target"]: r["summary"] for r in data["results"] if r["environment"] == "staging"}
    assert staging["kubernetes"] == {"added": 0, "changed": 1, "removed": 0, "unchanged": 2}
    assert staging["marathon"] == {"added": 0, "changed": 1, "removed": 0, "unchanged": 0}
    dev = {r["target"]: r["summary"] for r in data["results"] if r["environment"] == "dev"}
    assert dev["kubernetes"]["added"] == 3  # never deployed there: everything is new
    # every environment here shares one Marathon, each in its own group: dev's app was never deployed
    assert dev["marathon"]["added"] == 1
