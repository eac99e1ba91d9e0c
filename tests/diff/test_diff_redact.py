"""Secrets never show, in any format; the redaction still tells changed from unchanged."""

from __future__ import annotations

import base64
import json

import pytest
from diff_helpers import rendered

from skytrain.diff import diff_live
from skytrain.diff.format_json import format_json
from skytrain.diff.format_markdown import format_markdown
from skytrain.diff.format_text import format_text
from skytrain.diff.redact import redact_pair

OLD_SECRET = "hunter2-old-password-value"
NEW_SECRET = "s3cr3t-new-password-value!"
STRAY_SECRET = "typed-by-hand-into-marathon"


def secret(name: str, **values: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def test_secret_data_is_redacted_with_length_and_whether_it_changed():
    live = secret("creds", password=OLD_SECRET, user="admin")
    desired = {**secret("creds", user="admin"), "stringData": {"password": NEW_SECRET}}
    from skytrain.diff.normalise_kubernetes import normalise_pair

    wanted, running = redact_pair(*normalise_pair(desired, live), frozenset())
    assert running["data"] == {"password": "(redacted: 26 bytes)", "user": "(redacted: 5 bytes, unchanged)"}
    assert wanted["data"] == {
        "password": "(redacted: 26 bytes, changed)",
        "user": "(redacted: 5 bytes, unchanged)",
    }


def results_with_secrets(service):
    """Live state holding secrets three ways: an owned Secret, a literal env value on a
    container, a literal Marathon env value; all for API_KEY, which the config marks secret."""
    app = service.load("production")
    kubernetes = rendered(app, "kubernetes")
    container = kubernetes[2]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "API_KEY", "value": OLD_SECRET}]
    kubernetes.append(secret("hello-creds", password=NEW_SECRET))
    marathon = rendered(app, "marathon")
    marathon[0]["env"]["API_KEY"] = STRAY_SECRET
    return [
        *diff_live([app], "kubernetes", {"hello": kubernetes}),
        *diff_live([app], "marathon", {"hello": marathon}),
    ]


@pytest.mark.parametrize(
    "formatter",
    [
        format_json,
        format_markdown,
        lambda r: format_text(r, colour=False),
        lambda r: format_text(r, colour=True),
    ],
    ids=["json", "markdown", "text", "text-colour"],
)
def test_no_format_ever_shows_a_secret(service, formatter):
    output = formatter(results_with_secrets(service))
    for value in (OLD_SECRET, NEW_SECRET, STRAY_SECRET):
        assert value not in output
        assert base64.b64encode(value.encode()).decode() not in output
    assert "(redacted: 26 bytes" in output
    assert "(redacted: 27 bytes" in output


def test_the_json_plan_says_which_secret_changed(service):
    document = json.loads(format_json(results_with_secrets(service)))
    changes = {
        (o["kind"], c["path"]): c for r in document["results"] for o in r["objects"] for c in o["changes"]
    }
    stray = changes[("App", "/env/API_KEY")]
    assert stray["old"] == "(redacted: 27 bytes)" and stray["new"] == {"secret": "API_KEY"}
    removed = next(o for r in document["results"] for o in r["objects"] if o["action"] == "removed")
    assert removed["kind"] == "Secret"


def test_a_new_secret_written_as_string_data_is_redacted():
    new_secret = {**secret("hello-token"), "stringData": {"token": NEW_SECRET}}
    from skytrain.diff.plan import pair

    [added] = pair("kubernetes", [new_secret], [], frozenset(), lambda d, live: (d, live))
    assert added.desired["stringData"] == {"token": "(redacted: 26 bytes)"}
