"""The gate's verdicts on status shapes the emulated controllers do not produce (kstatus rules)."""

from __future__ import annotations

from skytrain.backends.kubernetes.gate import Target, evaluate
from skytrain.render.hashing import HASH_ANNOTATION

TARGET = Target("default", "web", 2, "abc", "app=web", ("web",))
READY_SLICE = {"web": [{"endpoints": [{"conditions": {}}]}]}  # ready unset counts as ready


def deployment(generation=2, observed=2, desired=2, **status):
    values = {"updatedReplicas": 2, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2, **status}
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": observed, **values},
    }


def pod(waiting=None, hash_="abc"):
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "metadata": {"name": f"web-{waiting}", "annotations": {HASH_ANNOTATION: hash_}},
        "status": {"containerStatuses": [{"name": "web", "state": state}]},
    }


def test_healthy_needs_the_generation_observed_all_replicas_updated_ready_available_and_endpoints():
    assert evaluate(TARGET, deployment(), [], READY_SLICE).state == "healthy"
    assert evaluate(TARGET, deployment(observed=1), [], READY_SLICE).summary.startswith(
        "waiting for the controller"
    )
    assert (
        evaluate(TARGET, deployment(updatedReplicas=1), [], READY_SLICE).summary == "1 of 2 replicas updated"
    )
    assert evaluate(TARGET, deployment(replicas=3), [], READY_SLICE).summary == (
        "1 old replica still terminating"
    )
    assert evaluate(TARGET, deployment(replicas=4), [], READY_SLICE).summary == (
        "2 old replicas still terminating"
    )
    assert (
        evaluate(TARGET, deployment(availableReplicas=1), [], READY_SLICE).summary
        == "1 of 2 replicas available"
    )
    no_endpoints = {"web": [{"endpoints": [{"conditions": {"ready": False}}]}]}
    assert (
        evaluate(TARGET, deployment(), [], no_endpoints).summary == "Service web has no ready endpoints yet"
    )


def test_a_scale_down_passes_once_the_surplus_is_gone_and_never_says_more_than_the_whole():
    """kstatus' pending termination: 3 updated, ready pods while 1 is wanted is still on its way."""
    shrinking = deployment(desired=1, updatedReplicas=3, replicas=3, readyReplicas=3, availableReplicas=3)
    verdict = evaluate(TARGET, shrinking, [], READY_SLICE)
    assert (verdict.state, verdict.summary) == (
        "progressing",
        "1 of 1 replica ready, 2 more replicas stopping",
    )
    done = deployment(desired=1, updatedReplicas=1, replicas=1, readyReplicas=1, availableReplicas=1)
    assert (
        evaluate(TARGET, done, [], READY_SLICE).state,
        evaluate(TARGET, done, [], READY_SLICE).summary,
    ) == (
        "healthy",
        "1 of 1 replica ready",
    )


def test_replica_failure_fails_at_once():
    failing = deployment(
        updatedReplicas=0,
        conditions=[
            {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": "FailedCreate",
                "message": "exceeded quota",
            }
        ],
    )
    verdict = evaluate(TARGET, failing, [], {})
    assert verdict.state == "failed" and "exceeded quota" in verdict.summary


def test_only_pods_of_the_new_config_count_and_only_when_all_of_them_are_doomed():
    rolling = deployment(updatedReplicas=1, readyReplicas=1, availableReplicas=1)
    old_crashing = [pod("CrashLoopBackOff", hash_="old"), pod()]
    assert evaluate(TARGET, rolling, old_crashing, READY_SLICE).state == "progressing"
    one_of_two = [pod("CrashLoopBackOff"), pod()]
    assert evaluate(TARGET, rolling, one_of_two, READY_SLICE).state == "progressing"
    all_doomed = [pod("CrashLoopBackOff"), pod("InvalidImageName")]
    verdict = evaluate(TARGET, rolling, all_doomed, READY_SLICE)
    assert verdict.state == "failed" and [p.object for p in verdict.problems] == [
        "Pod web-CrashLoopBackOff",
        "Pod web-InvalidImageName",
    ]
