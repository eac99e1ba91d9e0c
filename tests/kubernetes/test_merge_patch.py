"""The emulator's JSON merge patch is RFC 7386's: the RFC's own examples (Appendix A), and a
result that shares nothing with what it was made from (stored objects are never changed)."""

from __future__ import annotations

import copy

import pytest

from skytrain.emulators.kubernetes import merge_patch

RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7386_EXAMPLES)
def test_the_rfc_examples(target, patch, result) -> None:
    assert merge_patch(target, patch) == result


def test_the_result_shares_nothing_with_the_target_or_the_patch() -> None:
    target = {"spec": {"template": {"labels": {"app": "web"}}, "ports": [{"port": 80}]}, "status": {}}
    patch = {"spec": {"template": {"labels": {"tier": "front"}}, "extra": {"list": [1]}}}
    before = copy.deepcopy((target, patch))
    result = merge_patch(target, patch)
    result["spec"]["template"]["labels"]["changed"] = "yes"
    result["spec"]["ports"][0]["port"] = 81
    result["spec"]["extra"]["list"].append(2)
    result["status"]["phase"] = "Running"
    assert (target, patch) == before
