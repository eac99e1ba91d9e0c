"""The Marathon plug-in: an app definition from render/marathon.py, checked against
Marathon's own app schema, compared by app id, deployed by backends/marathon/."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from skytrain.config.model import App
from skytrain.errors import ConfigError
from skytrain.render import schema_errors, upstream
from skytrain.render.hashing import marathon_restarts
from skytrain.render.marathon import render_marathon
from skytrain.schedulers.base import Obj, PairNormaliser

if TYPE_CHECKING:
    from skytrain.backends.base import Backend
    from skytrain.config.environments import Environment


class Marathon:
    name = "marathon"
    title = "Marathon"
    restart_words = "restarts tasks"

    def render(self, app: App) -> list[Obj]:
        return [render_marathon(app)]

    def check(self, app: App, objects: list[Obj]) -> list[ConfigError]:
        legacy = app.environment.marathon is not None and app.environment.marathon.legacy_networking
        problems = [("app", p) for p in upstream.marathon_errors(objects[0], legacy)]
        return schema_errors(app, self.name, self.title, lambda kind: (self.name,), problems)

    def identity(self, obj: Obj) -> tuple[str, str, str | None]:
        return "App", str(obj.get("id", "")), None

    def restarts(self, kind: str, path: tuple[str, ...]) -> bool:
        return marathon_restarts(path)

    def normaliser(self, app: App) -> PairNormaliser:
        from skytrain.diff.normalise_marathon import normalise_pair

        version = app.environment.marathon.version if app.environment.marathon else None
        return lambda desired, live: normalise_pair(desired, live, version)

    def comparable(self, app: App, live: Any) -> Obj:
        """GET /v2/apps/{id} answers {"app": {...}}; the diff compares the app itself."""
        if isinstance(live, dict) and isinstance(live.get("app"), dict):
            return live["app"]
        return live

    def text(self, objects: list[Obj]) -> str:
        return json.dumps(objects[0], indent=2, sort_keys=True) + "\n"

    def files(self, app: App, objects: list[Obj]) -> list[tuple[str, str]]:
        return [(f"{app.name}.marathon.json", self.text(objects))]

    def backend(self, environment: Environment) -> Backend:
        from skytrain.backends.marathon import create_backend

        return create_backend(environment)


SCHEDULER = Marathon()
