"""Release history: what each revision applied and how it ended, in one ConfigMap per app
and environment, which also holds the app's deploy lock (lock.py).

`skytrain-release-<app>` holds one key per revision (`revision-7`) whose value is JSON:
the rendered manifests, image, config hash, when, the outcome (applying, deployed,
started, failed, timed-out, refused, interrupted) and a note (e.g. "rollback to 5").
A revision is recorded as `applying` before anything of it is sent, so a deploy that
dies half-way leaves a trace. The last N revisions are kept (default 10). It carries
skytrain's owner labels, so the LIST that reads an app's ConfigMaps also reads its history.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from skytrain.backends.base import Revision
from skytrain.config.model import App
from skytrain.render.hashing import HASH_ANNOTATION
from skytrain.render.kubernetes import owner_labels

ROLE_LABEL = "skytrain.io/role"
HISTORY_ROLE = "release-history"
DEFAULT_KEEP = 10
GOOD = ("deployed", "started")


def history_name(app: App) -> str:
    return f"skytrain-release-{app.name}"


@dataclass
class Release:
    revision: int
    status: str
    image: str
    config_hash: str
    at: str
    manifests: list[dict[str, Any]] = field(repr=False)
    note: str = ""

    def summary(self) -> Revision:
        return Revision(str(self.revision), self.status, self.image, self.at, self.note)


def release(revision: int, status: str, manifests: list[dict[str, Any]], note: str = "") -> Release:
    deployment = next((o for o in manifests if o["kind"] == "Deployment"), None)
    template = (deployment or {}).get("spec", {}).get("template", {})
    image = template["spec"]["containers"][0]["image"] if deployment else ""
    config_hash = template.get("metadata", {}).get("annotations", {}).get(HASH_ANNOTATION, "")
    at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Release(revision, status, image, config_hash, at, manifests, note)


@dataclass
class History:
    releases: list[Release]
    keep: int = DEFAULT_KEEP

    @classmethod
    def from_configmap(cls, configmap: dict[str, Any] | None, keep: int = DEFAULT_KEEP) -> History:
        data = (configmap or {}).get("data") or {}
        releases = [Release(**json.loads(v)) for k, v in data.items() if k.startswith("revision-")]
        return cls(sorted(releases, key=lambda r: r.revision), keep)

    def last_revision(self) -> int:
        return self.releases[-1].revision if self.releases else 0

    def get(self, revision: int) -> Release | None:
        return next((r for r in self.releases if r.revision == revision), None)

    def good_before(self, revision: int) -> Release | None:
        return next((r for r in reversed(self.releases) if r.status in GOOD and r.revision < revision), None)

    def add(self, entry: Release) -> None:
        self.releases = sorted(
            [r for r in self.releases if r.revision != entry.revision] + [entry], key=lambda r: r.revision
        )[-self.keep :]

    def data(self) -> dict[str, str]:
        return {f"revision-{r.revision}": json.dumps(asdict(r), sort_keys=True) for r in self.releases}

    def configmap(self, app: App) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": history_name(app),
                "namespace": app.namespace,
                "labels": {**owner_labels(app), ROLE_LABEL: HISTORY_ROLE},
            },
            "data": self.data(),
        }
