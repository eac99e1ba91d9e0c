"""The real-world corpus (../shared/reference/marathon-apps, read at test time, never copied):
every file imports or is refused with its reason; every imported service validates, renders
for Kubernetes within the Kubernetes schemas, renders for Marathon the app it came from
(every difference announced by a warning at its spot), and imports byte for byte the same
twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skytrain.importer import ImportRefused, Input, import_marathon
from skytrain.schedulers import render
from tests.importer.helpers import announced, environments_file, round_trip, write_result
from tests.support import SHARED_REFERENCE, shared_reference

CORPUS = SHARED_REFERENCE / "marathon-apps"
FILES = sorted(p.name for p in CORPUS.glob("*.json")) or ["(corpus missing)"]
# the files that are not usable apps, and the words their refusal must say
REFUSED = {
    "07-ovh-ip-reputation.json": "template placeholder",
    "36-secret-file-volume.json": "would refuse this app here",  # DC/OS Enterprise's secret volume
    **{name: "this is a Marathon pod" for name in FILES if "-pod-" in name},
}


def corpus_file(name: str) -> Path:
    return shared_reference("marathon-apps") / name


@pytest.mark.parametrize("name", FILES)
def test_each_file_imports_or_is_refused_with_its_reason(tmp_path, name):
    document = json.loads(corpus_file(name).read_text())
    if name in REFUSED:
        with pytest.raises(ImportRefused) as refused:
            import_marathon([Input("production", name, document)])
        assert REFUSED[name] in str(refused.value)
        assert str(refused.value).startswith(f"{name}: /")
        return
    result = import_marathon([Input("production", name, document)])
    assert result.services
    again = import_marathon([Input("production", name, json.loads(corpus_file(name).read_text()))])
    assert [s.files for s in again.services] == [s.files for s in result.services]


@pytest.mark.parametrize("name", [n for n in FILES if n not in REFUSED])
def test_each_imported_service_validates_and_round_trips(tmp_path, name):
    from skytrain.config import load_service

    document = json.loads(corpus_file(name).read_text())
    result = import_marathon([Input("production", name, document)])
    envs = environments_file(tmp_path / "environments.yml", {"production": {}})
    folders = write_result(result, tmp_path / "out")
    for service in result.services:
        app = load_service(folders[service.name], str(envs), environ={})[1]["production"]
        render(app, "marathon")  # checked against the Marathon app schema
        render(app, "kubernetes")  # checked against the Kubernetes schemas
        assert round_trip(app, service.intended["production"]) == []  # the files render what the import meant
        unannounced = [
            spot
            for spot in round_trip(app, service.given["production"])
            if not announced(spot, service.notes, service.pointers["production"])
        ]
        assert unannounced == [], f"{service.name}: differs from the original app without a warning"


def test_the_corpus_result(tmp_path):
    """43 of 50 convert (every one with warnings: real apps use what Kubernetes lacks); the 5
    pods, a template and a DC/OS Enterprise app are refused."""
    shared_reference("marathon-apps")
    converted, refused = [], []
    for name in FILES:
        try:
            import_marathon([Input("production", name, json.loads(corpus_file(name).read_text()))])
            converted.append(name)
        except ImportRefused:
            refused.append(name)
    assert sorted(refused) == sorted(REFUSED)
    assert len(converted) + len(refused) == 50
