"""The pure front half of skytrain: a service's files in, validated App models out."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from skytrain.config.build import ServiceFiles, build_apps, read_service
from skytrain.config.environments import (
    Environments,
    find_environments_file,
    found_in_checkout,
    load_environments,
)
from skytrain.config.model import App
from skytrain.config.variables import TemplateVariables, template_variables

__all__ = ["App", "Environments", "ServiceFiles", "TemplateVariables", "load_service", "template_variables"]


def load_service(
    directory: Path,
    environments_file: str | None = None,
    only: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
    set_variables: Mapping[str, str] | None = None,
) -> tuple[Environments, dict[str, App]]:
    """Every environment's App for the service in `directory` (or just `only`). Templates read
    the allowed variables of `environ` (default: this process's) and `set_variables` (--set)."""
    environ = os.environ if environ is None else environ
    files = read_service(directory)  # first: "no such service" beats "no environments file"
    path = find_environments_file(environments_file, directory, environ)
    environments = load_environments(path, found_in_checkout(environments_file, path, environ))
    variables = template_variables(environments, environ, set_variables)
    return environments, build_apps(files, environments, only, variables)
