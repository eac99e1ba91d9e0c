"""The emulator answers like Marathon (shared/reference/marathon/API-NOTES.md), over HTTP."""

from __future__ import annotations

import base64

import pytest
import requests

from skytrain.emulators.marathon import KILLED, RUNNING, STAGING, Behaviour, MarathonEmulator

APP = {
    "id": "/giphy",
    "instances": 2,
    "cpus": 0.1,
    "mem": 32,
    "container": {"type": "DOCKER", "docker": {"image": "giphy:1"}},
    "healthChecks": [
        {"protocol": "MESOS_HTTP", "path": "/h", "gracePeriodSeconds": 0, "maxConsecutiveFailures": 2}
    ],
}


@pytest.fixture
def manual():
    """No driver: tasks move only when the test moves them."""
    with MarathonEmulator() as marathon:
        yield marathon


def put(marathon: MarathonEmulator, body: dict, **params: str) -> requests.Response:
    return requests.put(f"{marathon.url}/v2/apps/giphy", json=body, params=params, timeout=5)


def test_put_creates_with_201_then_updates_with_200(manual):
    created = put(manual, APP, partialUpdate="false")
    assert created.status_code == 201
    assert created.headers["Location"] == "/v2/apps/giphy"
    body = created.json()
    assert set(body) == {"deploymentId", "version"}
    assert created.headers["Marathon-Deployment-Id"] == body["deploymentId"]
    manual.finish_deployment(body["deploymentId"])
    updated = put(manual, {**APP, "cpus": 0.2}, partialUpdate="false")
    assert updated.status_code == 200
    assert "Location" not in updated.headers
    assert requests.get(f"{manual.url}/v2/deployments").json()[0]["id"] == updated.json()["deploymentId"]


def test_post_answers_the_app_and_409_when_it_exists(manual):
    created = requests.post(f"{manual.url}/v2/apps", json=APP)
    assert created.status_code == 201
    body = created.json()
    assert body["tasks"] == [] and body["tasksRunning"] == 0
    assert body["deployments"] == [{"id": created.headers["Marathon-Deployment-Id"]}]
    again = requests.post(f"{manual.url}/v2/apps", json=APP)
    assert again.status_code == 409
    assert again.json() == {"message": "An app with id [/giphy] already exists."}


def test_a_second_change_during_a_deployment_is_locked_unless_forced(manual):
    first = put(manual, APP).json()["deploymentId"]
    locked = put(manual, {**APP, "cpus": 0.3})
    assert locked.status_code == 409
    assert locked.json()["deployments"] == [{"id": first}]
    assert "<DEPLOYMENT_ID>" in locked.json()["message"]
    forced = put(manual, {**APP, "cpus": 0.3}, force="true")
    assert forced.status_code == 200
    assert [d["id"] for d in requests.get(f"{manual.url}/v2/deployments").json()] == [
        forced.json()["deploymentId"]
    ]


def test_validation_errors_carry_marathon_paths(manual):
    bad_range = put(manual, {**APP, "upgradeStrategy": {"minimumHealthCapacity": 1.5}})
    assert bad_range.status_code == 422
    assert bad_range.json()["message"] == "Object is not valid"
    assert bad_range.json()["details"][0]["path"] == "/upgradeStrategy/minimumHealthCapacity"
    wrong_type = put(manual, {**APP, "cpus": "a lot"})
    assert wrong_type.status_code == 422
    assert wrong_type.json() == {
        "message": "Invalid JSON",
        "details": [{"path": "/cpus", "errors": ["error.expected.jsnumber"]}],
    }
    too_small = put(manual, {**APP, "cpus": 0.0001})
    assert too_small.json()["details"] == [
        {"path": "/cpus", "errors": ["got 0.0001, expected 0.001 or more"]}
    ]
    not_json = requests.put(f"{manual.url}/v2/apps/giphy", data=b"{", timeout=5)
    assert not_json.status_code == 400
    assert isinstance(not_json.json()["details"], str)
    assert requests.get(f"{manual.url}/v2/apps/giphy").status_code == 404


COMMAND_RULE = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."


@pytest.mark.parametrize(
    "body",
    [
        {"id": "/giphy", "cmd": "sleep 1", "args": ["sleep", "1"]},
        {"id": "/giphy", "instances": 1},
    ],
    ids=["cmd-and-args", "neither-nor-container"],
)
def test_what_to_run_is_refused_in_the_servers_words(manual, body):
    refused = put(manual, body)
    assert refused.status_code == 422
    assert refused.json() == {
        "message": "Object is not valid",
        "details": [{"path": "/", "errors": [COMMAND_RULE]}],
    }


def test_1_5_refuses_an_app_mixing_both_networking_styles(manual):
    docker = {"image": "g:1", "network": "BRIDGE"}
    mixed = put(manual, {**APP, "networks": [{"mode": "host"}], "container": {"docker": docker}})
    assert mixed.status_code == 422
    assert mixed.json()["details"] == [
        {
            "path": "/container/docker",
            "errors": ["must not specify both container.docker.network and networks"],
        }
    ]
    assert requests.get(f"{manual.url}/v2/apps/giphy").status_code == 404


def test_marathon_1_4_answers_400_for_wrong_types_and_refuses_1_5_fields():
    with MarathonEmulator(flavour="1.4") as marathon:
        assert put(marathon, {**APP, "cpus": "a lot"}).status_code == 400
        modern = put(marathon, {**APP, "networks": [{"mode": "container/bridge"}]})
        assert modern.status_code == 422
        legacy = {**APP, "container": {"type": "DOCKER", "docker": {"image": "g:1", "network": "BRIDGE"}}}
        assert put(marathon, legacy).status_code == 201
        app = requests.get(f"{marathon.url}/v2/apps/giphy").json()["app"]
        assert app["container"]["docker"]["network"] == "BRIDGE"
        assert app["ports"] == [] and app["ipAddress"] is None


def test_1_5_answers_in_canonical_form_with_server_defaults(manual):
    legacy = {
        **APP,
        "container": {
            "type": "DOCKER",
            "docker": {"image": "g:1", "network": "BRIDGE", "portMappings": [{"containerPort": 80}]},
        },
    }
    put(manual, legacy)
    app = requests.get(f"{manual.url}/v2/apps/giphy").json()["app"]
    assert app["networks"] == [{"mode": "container/bridge"}]
    assert "network" not in app["container"]["docker"]
    assert app["container"]["portMappings"][0]["hostPort"] == 0
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 1, "maximumOverCapacity": 1}
    assert app["healthChecks"][0]["delaySeconds"] == 15
    assert (app["backoffSeconds"], app["killSelection"]) == (1, "YOUNGEST_FIRST")
    assert "ipAddress" not in app


def test_unknown_things_are_404_with_marathon_messages(manual):
    assert requests.get(f"{manual.url}/v2/apps/nope").json() == {"message": "App '/nope' does not exist"}
    put(manual, APP)
    version = requests.get(f"{manual.url}/v2/apps/giphy/versions/2000-01-01T00:00:00.000Z")
    assert version.status_code == 404
    assert "does not exist in version" in version.json()["message"]
    gone = requests.delete(f"{manual.url}/v2/deployments/abc")
    assert (gone.status_code, gone.json()) == (404, {"message": "DeploymentPlan abc does not exist"})
    patch = requests.patch(f"{manual.url}/v2/apps/other", json={"instances": 1})
    assert patch.status_code == 404


def test_version_rollback_body_must_be_alone(manual):
    first = put(manual, APP).json()
    manual.finish_deployment(first["deploymentId"])
    mixed = put(manual, {"version": first["version"], "cpus": 1})
    assert mixed.status_code == 422
    assert "may only be combined with the 'id' field" in mixed.json()["details"][0]["errors"][0]
    assert put(manual, {"version": "2000-01-01T00:00:00.000Z"}).status_code == 404


def test_a_put_that_changes_nothing_leaves_no_deployment(manual):
    first = put(manual, APP, partialUpdate="false").json()
    manual.finish_deployment(first["deploymentId"])
    again = put(manual, APP, partialUpdate="false")
    assert again.status_code == 200
    assert again.json()["deploymentId"] != first["deploymentId"]
    assert requests.get(f"{manual.url}/v2/deployments").json() == []
    assert requests.get(f"{manual.url}/v2/apps/giphy").json()["app"]["version"] == first["version"]


def test_cancelling_a_deployment_reverts_it_or_with_force_only_stops_it(manual):
    first = put(manual, APP).json()
    manual.finish_deployment(first["deploymentId"])
    change = put(manual, {**APP, "cpus": 0.5}).json()
    revert = requests.delete(f"{manual.url}/v2/deployments/{change['deploymentId']}")
    assert revert.status_code == 200
    assert revert.headers["Marathon-Deployment-Id"] == revert.json()["deploymentId"]
    assert requests.get(f"{manual.url}/v2/apps/giphy").json()["app"]["cpus"] == 0.1
    forced = put(manual, {**APP, "cpus": 0.7}, force="true").json()
    stopped = requests.delete(
        f"{manual.url}/v2/deployments/{forced['deploymentId']}", params={"force": "true"}
    )
    assert (stopped.status_code, stopped.content) == (202, b"")
    assert requests.get(f"{manual.url}/v2/apps/giphy").json()["app"]["cpus"] == 0.7


def test_reverting_a_create_removes_the_app(manual):
    created = put(manual, APP).json()
    assert requests.delete(f"{manual.url}/v2/deployments/{created['deploymentId']}").status_code == 200
    assert requests.get(f"{manual.url}/v2/apps/giphy").status_code == 404


def test_deployment_finishes_when_new_tasks_are_healthy_and_old_ones_go(manual):
    first = put(manual, APP).json()
    manual.finish_deployment(first["deploymentId"])
    old = {t.id for t in manual.tasks("/giphy")}
    change = put(manual, {**APP, "cpus": 0.2}).json()
    new = [t for t in manual.tasks("/giphy") if t.id not in old]
    assert [t.state for t in new] == [STAGING, STAGING]
    for task in new:
        manual.set_task_state(task.id, RUNNING)
    assert requests.get(f"{manual.url}/v2/deployments").json()[0]["id"] == change["deploymentId"]
    for task in new:
        manual.report_health(task.id, True)
    assert requests.get(f"{manual.url}/v2/deployments").json() == []
    app = requests.get(f"{manual.url}/v2/apps/giphy").json()["app"]
    assert {t["id"] for t in app["tasks"]} == {t.id for t in new}
    assert app["tasksHealthy"] == 2 and app["tasksUnhealthy"] == 0
    assert all(t["version"] == change["version"] for t in app["tasks"])


def test_failed_health_checks_kill_the_task_after_the_grace_period():
    with MarathonEmulator() as marathon:
        put(marathon, {**APP, "healthChecks": [{**APP["healthChecks"][0], "gracePeriodSeconds": 3600}]})
        task = marathon.tasks("/giphy")[0]
        marathon.set_task_state(task.id, RUNNING)
        for _ in range(5):
            marathon.report_health(task.id, False)
        inside = requests.get(f"{marathon.url}/v2/apps/giphy").json()["app"]
        assert inside["tasksUnhealthy"] == 1 and "lastTaskFailure" not in inside
        running = next(t for t in inside["tasks"] if t["id"] == task.id)
        assert running["healthCheckResults"][0]["consecutiveFailures"] == 0
    with MarathonEmulator() as marathon:
        put(marathon, APP)
        task = marathon.tasks("/giphy")[0]
        marathon.set_task_state(task.id, RUNNING)
        marathon.report_health(task.id, False)
        marathon.report_health(task.id, False)
        app = requests.get(f"{marathon.url}/v2/apps/giphy").json()["app"]
        assert app["lastTaskFailure"]["taskId"] == task.id
        assert app["lastTaskFailure"]["state"] == KILLED
        assert "health check failed" in app["lastTaskFailure"]["message"]


def test_driver_plays_behaviours_per_image():
    with MarathonEmulator(behaviour=Behaviour.healthy(0.02)) as marathon:
        marathon.behave("giphy:bad", Behaviour.crashing(0.01))
        put(marathon, APP)
        marathon.wait_until(lambda: not marathon.deployments)
        bad = {**APP, "container": {"type": "DOCKER", "docker": {"image": "giphy:bad"}}}
        put(marathon, bad)
        marathon.wait_until(lambda: "lastTaskFailure" in marathon.app("/giphy"))
        failure = requests.get(f"{marathon.url}/v2/apps/giphy").json()["app"]["lastTaskFailure"]
        assert failure["message"] == "Command exited with status 1"
        assert failure["state"] == "TASK_FAILED"


def test_credentials_are_checked_when_configured():
    with MarathonEmulator(credentials=("ops", "s3cret"), token="tok") as marathon:
        url = f"{marathon.url}/v2/apps"
        assert requests.get(url).status_code == 401
        assert requests.get(url).json() == {"message": "Invalid username or password."}
        assert requests.get(url, auth=("ops", "wrong")).status_code == 401
        assert requests.get(url, auth=("ops", "s3cret")).status_code == 200
        assert requests.get(url, headers={"Authorization": "token=tok"}).status_code == 200
        basic = base64.b64encode(b"ops:s3cret").decode()
        assert requests.get(url, headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_injected_failures_hit_only_matching_requests(manual):
    manual.inject(status=503, count=2, method="GET", path_prefix="/v2/deployments")
    assert requests.get(f"{manual.url}/v2/apps").status_code == 200
    assert requests.get(f"{manual.url}/v2/deployments").status_code == 503
    assert requests.get(f"{manual.url}/v2/deployments").status_code == 503
    assert requests.get(f"{manual.url}/v2/deployments").status_code == 200


def test_a_held_deployment_stays_listed_until_finished(manual):
    change = put(manual, APP).json()["deploymentId"]
    manual.hold_deployment(change)
    for task in manual.tasks("/giphy"):
        manual.set_task_state(task.id, RUNNING)
        manual.report_health(task.id, True)
    assert [d["id"] for d in requests.get(f"{manual.url}/v2/deployments").json()] == [change]
    manual.finish_deployment(change)
    assert requests.get(f"{manual.url}/v2/deployments").json() == []
    assert manual.events[-1] == {**manual.events[-1], "eventType": "deployment_success", "id": change}
