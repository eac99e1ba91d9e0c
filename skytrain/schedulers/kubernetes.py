"""The Kubernetes plug-in: manifests from render/kubernetes.py, checked against the
Kubernetes OpenAPI schemas, compared by kind, namespace and name, deployed by
backends/kubernetes/."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from skytrain.config.model import App
from skytrain.errors import ConfigError, OperationFailed
from skytrain.render import schema_errors, upstream
from skytrain.render.hashing import kubernetes_restarts
from skytrain.render.kubernetes import GENERATED_FROM_LABEL, render_kubernetes, unused_patches
from skytrain.schedulers.base import Obj, PairNormaliser

if TYPE_CHECKING:
    from skytrain.backends.base import Backend
    from skytrain.config.environments import Environment


class Kubernetes:
    name = "kubernetes"
    title = "Kubernetes"
    restart_words = "rolls pods"

    def render(self, app: App) -> list[Obj]:
        return render_kubernetes(app)

    def check(self, app: App, objects: list[Obj]) -> list[ConfigError]:
        unused = unused_patches(app, objects)
        if unused:
            return unused
        version = app.environment.kubernetes.version if app.environment.kubernetes else "1.33"
        problems = [(o["kind"], p) for o in objects for p in upstream.kubernetes_errors(o, version)]
        return schema_errors(app, self.name, self.title, lambda kind: (self.name, kind), problems)

    def identity(self, obj: Obj) -> tuple[str, str, str | None]:
        """A content-named ConfigMap is paired by what it was generated from: a new env is
        the same ConfigMap changed, not one removed and one added."""
        metadata = obj.get("metadata") or {}
        name = (metadata.get("labels") or {}).get(GENERATED_FROM_LABEL) or metadata.get("name", "")
        return str(obj.get("kind", "")), str(name), metadata.get("namespace")

    def restarts(self, kind: str, path: tuple[str, ...]) -> bool:
        return kubernetes_restarts(kind, path)

    def normaliser(self, app: App) -> PairNormaliser:
        from skytrain.diff.normalise_kubernetes import normalise_pair

        return normalise_pair

    def comparable(self, app: App, live: Any) -> Obj:
        if not (isinstance(live, dict) and live.get("kind")):
            raise OperationFailed(
                f"the Kubernetes backend returned an object without a kind for {app.name} in "
                f"{app.environment.name}; this is a skytrain bug, please report it"
            )
        return live

    def text(self, objects: list[Obj]) -> str:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return "---\n".join(
            yaml.dump(o, Dumper=dumper, sort_keys=False, default_flow_style=False) for o in objects
        )

    def files(self, app: App, objects: list[Obj]) -> list[tuple[str, str]]:
        return [(f"{o['metadata']['name']}.{o['kind'].lower()}.yaml", self.text([o])) for o in objects]

    def backend(self, environment: Environment) -> Backend:
        from skytrain.backends.kubernetes import create_backend

        return create_backend(environment)


SCHEDULER = Kubernetes()
