"""The command line against the emulator: `python -m skytrain deploy|status|rollback --target kubernetes`."""

from __future__ import annotations

import json
import subprocess

import pytest

from skytrain.emulators import kubernetes_controllers as emu
from skytrain.emulators.kubernetes import write_kubeconfig
from tests.kubernetes.conftest import Cluster, app, env_configmap
from tests.support import EXAMPLE_ENVIRONMENTS, EXAMPLES, assert_status_is_a_sentence, closed_port
from tests.support import skytrain as run_skytrain


def skytrain(k8s, *args: str, tag: str = "good", **extra_env: str) -> subprocess.CompletedProcess[str]:
    """`skytrain COMMAND examples/giphy --env staging --target kubernetes` against the emulator."""
    return run_skytrain(
        *args,
        EXAMPLES / "giphy",
        "--env",
        "staging",
        "--target",
        "kubernetes",
        "--environments",
        EXAMPLE_ENVIRONMENTS,
        KUBECONFIG=str(k8s.kubeconfig),
        BUILD_TAG=tag,
        **extra_env,
    )


def test_deploy_then_status_then_rollback_to_a_revision(k8s):
    deployed = skytrain(k8s, "deploy", "--output", "json")
    assert deployed.returncode == 0, deployed.stderr
    result = json.loads(deployed.stdout)["results"][0]
    assert (result["outcome"], result["revision"], result["gate"]["passed"]) == ("deployed", "1", True)
    assert deployed.stderr == ""  # --output json: no progress lines

    second = skytrain(k8s, "deploy", tag="v2")
    assert second.returncode == 0, second.stderr
    assert "staging/giphy on kubernetes: deployed (revision 2)" in second.stdout
    # CI log lines, no escapes
    assert "staging/giphy on kubernetes: healthy (2 of 2 replicas ready)" in second.stderr
    assert "\x1b[" not in second.stderr

    status = skytrain(k8s, "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[:3] == [
        "staging/giphy on kubernetes: healthy (revision 2)",
        "  ✓ Deployment giphy: 2 of 2 replicas ready",
        "  ✓ Service giphy: 2 ready endpoints",
    ]

    rolled = skytrain(k8s, "rollback", "--to-revision", "1", "--output", "json")
    assert rolled.returncode == 0, rolled.stderr
    rolled_back = json.loads(rolled.stdout)["results"][0]
    assert (rolled_back["revision"], rolled_back["outcome"], rolled_back["operation"]) == (
        "3",
        "deployed",
        "rollback",
    )
    assert k8s.image() == "registry.example.com/giphy:good"


def test_a_failed_deploy_prints_the_evidence_and_exits_1(k8s):
    k8s.deploy()
    k8s.controller.by_image = {"bad": emu.CRASH_LOOP}

    failed = skytrain(k8s, "deploy", "--no-rollback", tag="bad")

    assert failed.returncode == 1
    assert "staging/giphy on kubernetes: failed (revision 2)" in failed.stdout
    assert "gate failed after" in failed.stdout
    assert "container giphy: CrashLoopBackOff" in failed.stdout
    assert "log giphy: panic: GIPHY_API_KEY is not set" in failed.stdout
    assert "left in place for debugging (--no-rollback)" in failed.stdout


def test_a_secret_a_failing_pod_logs_is_masked_in_every_output(k8s):
    secret = "hunter2-never-print"
    k8s.deploy()
    k8s.controller.by_image = {"bad": emu.CRASH_LOOP}
    k8s.controller.logs = [f"connecting with DB_PASSWORD={secret}"]

    outputs = [
        skytrain(k8s, "deploy", "--no-rollback", *output, tag="bad", DB_PASSWORD=secret, CI="true")
        for output in ((), ("--output", "json"))
    ]

    text, as_json = outputs
    assert text.returncode == as_json.returncode == 1
    assert "log giphy: connecting with DB_PASSWORD=****" in text.stdout
    assert "DB_PASSWORD=****" in json.dumps(json.loads(as_json.stdout))
    for result in outputs:
        assert secret not in result.stdout + result.stderr


def test_a_timeout_is_distinguishable_in_the_json_output(k8s):
    k8s.deploy()
    k8s.controller.by_image = {"slowpoke": emu.STUCK}

    timed_out = skytrain(k8s, "deploy", "--timeout", "1", "--output", "json", tag="slowpoke")

    assert timed_out.returncode == 1
    result = json.loads(timed_out.stdout)["results"][0]
    assert result["outcome"] == "rolled-back"
    assert result["gate"]["timed_out"] is True and result["rollback_gate"]["passed"] is True


def test_no_wait_returns_once_applied(k8s):
    k8s.controller.behaviour = emu.STUCK

    started = skytrain(k8s, "deploy", "--no-wait")

    assert started.returncode == 0, started.stderr
    assert "staging/giphy on kubernetes: started (revision 1)" in started.stdout


def test_a_deploy_refused_by_the_lock_names_the_holder(k8s):
    k8s.hold_lock("bob@laptop pid 7")

    refused = skytrain(k8s, "deploy", "--timeout", "0.3")

    assert refused.returncode == 1
    assert "another deploy of giphy holds the lock" in refused.stdout
    assert "held by bob@laptop pid 7" in refused.stdout
    assert k8s.get("Deployment", "giphy") is None


def test_a_refusal_after_something_was_applied_exits_1_and_says_what_was_applied(k8s):
    """A 422 on the Deployment after the ConfigMap and the Service were applied: something was
    sent, so exit 1 (never 2 with "nothing was sent"), with what was applied and what runs."""
    k8s.emulator.fail("PATCH", "deployments/giphy", 422, times=5)

    refused = skytrain(k8s, "deploy")

    assert refused.returncode == 1
    assert "staging/giphy on kubernetes: refused" in refused.stdout
    assert f"applied before the refusal: ConfigMap {env_configmap()}, Service giphy" in refused.stdout
    assert "runs now: nothing: there is no Deployment giphy" in refused.stdout
    assert "nothing was sent" not in refused.stdout + refused.stderr


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_exits_2_and_sends_nothing(k8s, timeout):
    refused = skytrain(k8s, "deploy", f"--timeout={timeout}")

    assert refused.returncode == 2
    assert "--timeout: must be a" in refused.stderr
    assert k8s.emulator.calls == []


def test_a_rollback_to_a_revision_that_does_not_exist_exits_2_and_lists_the_real_ones(k8s):
    k8s.deploy(app("good"))
    k8s.deploy(app("v2"))
    before = len(k8s.emulator.calls)

    refused = skytrain(k8s, "rollback", "--to-revision", "9")

    assert refused.returncode == 2
    assert (
        "giphy has no revision 9 in staging on kubernetes; recorded: 2, 1; nothing was changed"
        in refused.stdout
    )
    assert k8s.writes(before) == []


def test_status_of_an_unreachable_cluster_is_a_sentence_and_exit_1_in_every_format(tmp_path):
    port = closed_port()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    cluster = Cluster(None, None, kubeconfig)

    text, as_json = (skytrain(cluster, "status", *output) for output in ((), ("--output", "json")))

    said = (
        "could not read what runs on kubernetes in staging: could not reach the Kubernetes API listing "
        f"configmaps in namespace default (kubeconfig context staging): no answer from http://127.0.0.1:{port}: "
        "connection refused"
    )
    assert_status_is_a_sentence(text, as_json, "staging/giphy on kubernetes", said)
    assert "urllib3" not in text.stdout + text.stderr + as_json.stdout
