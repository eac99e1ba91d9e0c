"""The words every scheduler's progress lines and results share, in one place, so that Marathon
and Kubernetes (and any scheduler after them) say the same thing the same way:

- every line names where it happens: `staging/giphy on kubernetes`;
- the verb says what happened: a scale `scaled`, a rollback `rolled back`, never `deployed`;
- a count agrees with its noun (`1 replica`, `2 replicas`), and a part is never more than its
  whole (`2 of 1 healthy` cannot be true: a scale-down's surplus is said on its own).

Pure and import-free: the backends, the lifecycle and the reporting all read it.
"""

from __future__ import annotations

REPLICA = "replica"  # skytrain's word for one copy of a service: a Marathon task, a Kubernetes pod
# the states of a gate while it waits, on every scheduler
HEALTHY = "healthy"
ROLLING_OUT = "rolling out"
FAILED = "failed"
_DONE = {"deploy": "deployed", "rollback": "rolled back", "scale": "scaled"}
DONE = frozenset(_DONE.values())  # what a successful operation did, in any of its words


def place(environment: str, app: str, target: str) -> str:
    """Where an operation happens, the head of every progress line and result of it."""
    return f"{environment}/{app} on {target}"


def part(where: str, kind: str, name: str) -> str:
    """One object of an app at a place: `staging/giphy on kubernetes, Deployment giphy`."""
    return f"{where}, {kind} {name}"


def plural(number: int, noun: str) -> str:
    """The noun as `number` of it reads (our nouns all take a plain -s)."""
    return noun if number == 1 else f"{noun}s"


def count(number: int, noun: str) -> str:
    """`1 replica`, `0 replicas`, `2 old replicas`."""
    return f"{number} {plural(number, noun)}"


def share(number: int, whole: int, noun: str, state: str) -> str:
    """`1 of 2 replicas ready`. The part is capped at the whole: what exceeds it (a scale-down's
    replicas not yet stopped) is said apart, with `surplus`."""
    return f"{min(number, whole)} of {count(whole, noun)} {state}"


def surplus(number: int, whole: int) -> str:
    """`, 1 more replica stopping`, or nothing while no more run than are wanted."""
    extra = number - whole
    return f", {extra} more {plural(extra, REPLICA)} stopping" if extra > 0 else ""


def scaling(current: int | None, wanted: int) -> str:
    """What a scale changes: `scale from 2 replicas to 1 replica`."""
    start = f"from {count(current, REPLICA)} " if current is not None else ""
    return f"scale {start}to {count(wanted, REPLICA)}"


def rollback_to(revision: str) -> str:
    """What a rollback applies: `rollback to revision 3`."""
    return f"rollback to revision {revision}"


def done(operation: str) -> str:
    """What a successful `operation` (deploy, rollback, scale) did: `deployed`, `rolled back`, `scaled`."""
    return _DONE[operation]


def not_healthy_in_time(timeout: float, detail: str) -> str:
    """A gate's summary when its timeout passed."""
    return f"not healthy after {timeout:g}s: {detail}"


def interrupted_after(seconds: float, detail: str) -> str:
    """A gate's summary when a signal stopped its waiting."""
    return f"interrupted after {seconds:.1f}s: {detail}"
