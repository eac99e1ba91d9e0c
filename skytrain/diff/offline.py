"""The offline diff: the working tree's renders against the same service at a git ref.

This is what CI runs on a pull request, where it has no cluster credentials: no
scheduler is contacted, only git and the pure render path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from skytrain.config.build import build_apps
from skytrain.config.environments import Environments
from skytrain.config.model import App
from skytrain.config.variables import TemplateVariables
from skytrain.diff.compare import DiffResult
from skytrain.diff.gitref import read_service_at
from skytrain.diff.plan import diff_rendered
from skytrain.schedulers import render


def apps_at(
    ref: str,
    directory: Path,
    environments: Environments,
    names: list[str],
    variables: TemplateVariables | None = None,
) -> dict[str, App]:
    """The service's App per environment at `ref`, for those of `names` that existed there.
    Its templates read `variables`: pass the working tree's, so both sides render alike."""
    files = read_service_at(ref, directory)
    if files is None:
        return {}
    present = [name for name in names if name in files.overlays and name in environments]
    if not present:
        return {}
    # what is at the ref was checked when it merged; a mistake there that no environment
    # uses must not stop the diff of the change that fixes it
    return build_apps(files, environments, present, variables, each_file=False)


def diff_against_ref(
    ref: str,
    apps: Mapping[str, App],
    old_apps: Mapping[str, App],
    target: str | None = None,
) -> list[DiffResult]:
    """One result per environment and target that either side runs on (a service moving
    from Marathon to Kubernetes shows its Marathon app removed and its manifests added)."""
    results = []
    for name in [*apps, *(n for n in old_apps if n not in apps)]:
        new_app, old_app = apps.get(name), old_apps.get(name)
        schedulers = [*(new_app.schedulers if new_app else ()), *(old_app.schedulers if old_app else ())]
        for scheduler in dict.fromkeys(schedulers):
            if target is not None and scheduler != target:
                continue
            new = render(new_app, scheduler) if new_app and new_app.runs_on(scheduler) else []
            old = render(old_app, scheduler, check=False) if old_app and old_app.runs_on(scheduler) else []
            results.append(diff_rendered(new_app, old_app, scheduler, new, old, f"git:{ref}"))
    return results
