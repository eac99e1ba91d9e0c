"""Which variables a template in a service's files may read, and their values.

The files under deploy/ are untrusted: in a pull-request build they are written by whoever
opened it, and read on an agent that holds deploy credentials. So a template never sees the
process environment. It may read only:

- DEFAULT_NAMES, the build variables Jenkins sets (BUILD_TAG, GIT_COMMIT, BRANCH_NAME, ...);
- the names the platform's environments file lists under `templateVariables:`;
- names given on the command line with `--set NAME=VALUE`.

The first two take their value from the process environment; `--set` wins over it. A name
that looks like a secret's is refused where it is declared; a value that looks like a
secret is refused where a template reads it (skytrain.config.interpolate), so an unused
variable never stops a build.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

from skytrain.config.environments import Environments

# build variables Jenkins sets on every build (and multibranch and pull-request builds);
# none of them holds a credential
DEFAULT_NAMES = frozenset(
    {
        "BUILD_TAG",
        "BUILD_NUMBER",
        "BUILD_ID",
        "JOB_NAME",
        "JOB_BASE_NAME",
        "GIT_COMMIT",
        "GIT_BRANCH",
        "BRANCH_NAME",
        "TAG_NAME",
        "CHANGE_ID",
        "CHANGE_BRANCH",
        "CHANGE_TARGET",
    }
)


class TemplateVariables:
    """The names templates may read (`allowed`) and the values of those that are set.

    `rendered` remembers each template's outcome with these variables, so that a base file's
    template, seen once per environment, runs (and spends its time budget) once per run.
    (A plain class: a dataclass costs every `skytrain validate` half a millisecond at import.)"""

    __slots__ = ("allowed", "declared_in", "rendered", "values")

    def __init__(self, allowed: frozenset[str], values: Mapping[str, str], declared_in: str) -> None:
        self.allowed = allowed
        self.values = values
        self.declared_in = declared_in
        self.rendered: dict[str, tuple[str | None, str | None]] = {}

    def describe(self) -> str:
        """The allowed names, and how to allow another, for a message."""
        return (
            f"templates may read {', '.join(sorted(self.allowed))} (more are allowed by templateVariables: "
            f"in {self.declared_in}, or for one run by --set NAME=VALUE)"
        )


def template_variables(
    environments: Environments,
    environ: Mapping[str, str] | None = None,
    given: Mapping[str, str] | None = None,
) -> TemplateVariables:
    """The variables of a run: DEFAULT_NAMES and the environments file's templateVariables,
    valued from `environ` (default: this process's environment), and `given` (--set) on top.
    Both sides of `diff --against` use the same."""
    environ = os.environ if environ is None else environ
    given = dict(given or {})
    allowed = DEFAULT_NAMES | frozenset(environments.template_variables) | frozenset(given)
    values = {name: environ[name] for name in allowed if name in environ}
    values.update(given)
    return TemplateVariables(allowed, MappingProxyType(values), environments.file)
