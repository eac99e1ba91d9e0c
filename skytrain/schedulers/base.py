"""What a scheduler plug-in provides: the pure half (render, check, compare, identify
its objects) and the door to its I/O half (the backend the lifecycle drives).

The pure half never imports a network library; `backend` imports the client only when
it is called, so `validate`, `render` and the offline diff stay on the pure path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from skytrain.diff.normalise import Obj, PairNormaliser

if TYPE_CHECKING:
    from skytrain.backends.base import Backend
    from skytrain.config.environments import Environment
    from skytrain.config.model import App
    from skytrain.errors import ConfigError

__all__ = ["Obj", "PairNormaliser", "Scheduler"]


class Scheduler(Protocol):
    name: str  # how the config, --target and results name it: "kubernetes"
    title: str  # how a sentence names it: "Kubernetes"
    restart_words: str  # what a change that restarts containers does: "rolls pods"

    def render(self, app: App) -> list[Obj]:
        """The objects to send, unchecked (skytrain.schedulers.render checks them)."""

    def check(self, app: App, objects: list[Obj]) -> list[ConfigError]:
        """What the scheduler would refuse, as config errors at the lines that caused them."""

    def identity(self, obj: Obj) -> tuple[str, str, str | None]:
        """(kind, name, namespace) that pairs a desired object with its live counterpart."""

    def restarts(self, kind: str, path: tuple[str, ...]) -> bool:
        """Whether changing the field at `path` restarts the running containers."""

    def normaliser(self, app: App) -> PairNormaliser:
        """Makes a (desired, live) pair comparable, for this app's server version."""

    def comparable(self, app: App, live: Any) -> Obj:
        """A live object as the backend returns it, in the shape the renderer produces."""

    def text(self, objects: list[Obj]) -> str:
        """The objects as `skytrain render` prints them."""

    def files(self, app: App, objects: list[Obj]) -> list[tuple[str, str]]:
        """(file name, content) per file `skytrain render -o DIR` writes."""

    def backend(self, environment: Environment) -> Backend:
        """The scheduler of this environment, reached over the network (imports the client)."""
