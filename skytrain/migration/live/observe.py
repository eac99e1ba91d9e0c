"""What the schedulers and the mesh say about a fleet in one environment, read at once:
one list per kind per scheduler (Marathon's apps, Kubernetes' Deployments) and one read of
the environment's shares and notes in Consul, whatever the number of services."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from skytrain.backends.base import Backend, Census, SchedulerError
from skytrain.config.environments import Environment
from skytrain.config.model import App
from skytrain.migration import CUT_OVER_AT, FROM, PREVIOUS_INSTANCES, TO
from skytrain.migration.live.store import ShareStore, Snapshot
from skytrain.migration.phases import Copies, Seen
from skytrain.schedulers import backend as scheduler_backend


@dataclass(frozen=True)
class Service:
    """One service of the fleet in the environment, and how the command line named it."""

    app: App
    where: str


@dataclass
class Live:
    """The scheduler backends and the share store of one environment (the ones it has)."""

    environment: Environment
    marathon: Backend | None
    kubernetes: Backend | None
    store: ShareStore | None

    @classmethod
    def of(cls, environment: Environment) -> Live:
        """Every connection made before anything is read: a wrong setting is exit 2 first."""
        return cls(
            environment,
            scheduler_backend(FROM, environment) if environment.marathon else None,
            scheduler_backend(TO, environment) if environment.kubernetes else None,
            ShareStore.of(environment) if environment.mesh.consul else None,
        )


def observe(live: Live, services: Sequence[Service]) -> list[Seen]:
    """Every service of the environment as the config and the live systems see it now; a
    system that cannot be read makes its services `unreadable`, with the sentence why."""
    apps = [s.app for s in services]

    def census(backend: Backend | None) -> dict[str, Census] | str:
        if backend is None:
            return {}
        try:
            return backend.census(apps)
        except SchedulerError as exc:
            return f"could not read {backend.name} in {live.environment.name}: {exc}"

    def snapshot() -> Snapshot | str:
        if live.store is None:
            return Snapshot()
        try:
            return live.store.snapshot()
        except SchedulerError as exc:
            return f"could not read the canary shares in Consul: {exc}"

    with ThreadPoolExecutor(max_workers=3) as pool:
        marathon = pool.submit(census, live.marathon)
        kubernetes = pool.submit(census, live.kubernetes)
        shares = pool.submit(snapshot)
    return [_seen(s, marathon.result(), kubernetes.result(), shares.result()) for s in services]


def _seen(
    service: Service,
    marathon: dict[str, Census] | str,
    kubernetes: dict[str, Census] | str,
    snapshot: Snapshot | str,
) -> Seen:
    app = service.app
    unreadable = next((x for x in (marathon, kubernetes, snapshot) if isinstance(x, str)), "")
    if isinstance(snapshot, Snapshot) and app.name in snapshot.refused:
        unreadable = unreadable or snapshot.refused[app.name]
    on_marathon = marathon.get(app.name) if isinstance(marathon, dict) else None
    on_kubernetes = kubernetes.get(app.name) if isinstance(kubernetes, dict) else None
    marks = on_marathon.marks if on_marathon else {}
    return Seen(
        name=app.name,
        environment=app.environment.name,
        where=service.where,
        config_marathon=app.runs_on(FROM),
        config_kubernetes=app.runs_on(TO),
        marathon=_copies(on_marathon),
        kubernetes=_copies(on_kubernetes),
        share=snapshot.shares.get(app.name) if isinstance(snapshot, Snapshot) else None,
        previous_instances=_count(marks.get(PREVIOUS_INSTANCES)),
        cut_over_at=marks.get(CUT_OVER_AT),
        last_step=snapshot.notes.get(app.name) if isinstance(snapshot, Snapshot) else None,
        dependencies=tuple(d.name for d in app.dependencies),
        unreadable=unreadable,
    )


def _copies(census: Census | None) -> Copies | None:
    return None if census is None else Copies(census.desired, census.ready, census.settled)


def _count(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None
