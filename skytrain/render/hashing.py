"""The config hash: a short digest of everything that, when it changes, restarts containers.

It is computed from the rendered objects, not from the config, so that a change in a
renderer that would restart every service also changes every hash (and fails the
golden-hash test) instead of going unnoticed.

Included (restart the containers when changed):
- Kubernetes: the whole pod template of the Deployment, and the data of the env ConfigMap
  (whose keys reach the containers through envFrom).
- Marathon: the whole app definition.
Excluded (never restart anything):
- the replica count (`instances`, `spec.replicas`): scaling must never restart;
- the hash itself;
- on Kubernetes, everything outside the pod template: Deployment strategy, progress
  deadline, labels and annotations of the Deployment, the Service;
- what is never rendered: description, nameNice, and secret values (skytrain only sees
  references, so rotating a secret needs its own restart).
On Marathon every other field of the app is a restart (Marathon restarts tasks on any
change but `instances`), so nothing else is excluded there.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

HASH_ANNOTATION = "skytrain.io/config-hash"
HASH_LABEL_MARATHON = "SKYTRAIN_CONFIG_HASH"


def digest(*parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# The same rules as data, for the diff to tell which changes restart containers.
KUBERNETES_HASHED_PARTS = {"Deployment": ("spec", "template"), "ConfigMap": ("data",)}
MARATHON_UNHASHED_FIELDS = ("instances",)


def kubernetes_restarts(kind: str, path: tuple[str, ...]) -> bool:
    """Whether changing the field at `path` of a Kubernetes object changes the config hash,
    which is exactly when the pods are replaced (see the rules above)."""
    prefix = KUBERNETES_HASHED_PARTS.get(kind)
    return prefix is not None and tuple(path[: len(prefix)]) == prefix


def marathon_restarts(path: tuple[str, ...]) -> bool:
    """Whether changing the field at `path` of a Marathon app restarts its tasks."""
    return bool(path) and path[0] not in MARATHON_UNHASHED_FIELDS
