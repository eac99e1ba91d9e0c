"""`skytrain routes`: generate the Skyline mesh (NGINX configs, bridge manifests,
consul-template) for one environment of a fleet, and optionally `nginx -t` them."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import tempfile
from pathlib import Path

from skytrain.commands.common import add_set_argument, load_many
from skytrain.config.build import DEPLOY_DIR
from skytrain.config.environments import (
    Environment,
    find_environments_file,
    found_in_checkout,
    load_environments,
)
from skytrain.config.fleet import services_in
from skytrain.errors import EXIT_OK, OperationFailed, UsageError
from skytrain.outputs import check_directory, write_file
from skytrain.render.routing.model import BRIDGE_IMAGE, DEFAULT_CLUSTER_DNS, RoutingModel


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "routes",
        help="generate the Skyline mesh (NGINX, SDB, skyline-bridge) for one environment of a fleet",
        description="Generate skyline-local.conf, sdb.conf, skyline-bridge.conf, the bridge's Kubernetes "
        "manifests and the SDB's consul-template from the fleet's deploy files. See docs/routing.md.",
    )
    add_fleet_argument(parser)
    parser.add_argument("--env", required=True, help="environment to generate the mesh for")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write the files")
    parser.add_argument("--check", action="store_true", help="run `nginx -t` on each generated NGINX config")
    parser.add_argument(
        "--environments", metavar="FILE", help="environments file (default: found as for `skytrain validate`)"
    )
    parser.add_argument(
        "--cluster-dns",
        default=DEFAULT_CLUSTER_DNS,
        metavar="IP",
        help=f"the cluster DNS the bridge resolves Services with (default: {DEFAULT_CLUSTER_DNS})",
    )
    parser.add_argument(
        "--bridge-image",
        default=BRIDGE_IMAGE,
        metavar="IMAGE",
        help=f"skyline-bridge image (default: {BRIDGE_IMAGE})",
    )
    parser.add_argument(
        "--no-canary",
        action="store_true",
        help="do not read the canary shares from the environment's Consul (mesh.consul): render the SDB as "
        "if no service were migrating",
    )
    add_set_argument(parser)
    parser.set_defaults(run=run)


def add_fleet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fleet",
        nargs="+",
        type=Path,
        required=True,
        metavar="DIR",
        help="a folder of service repositories, or service repositories themselves",
    )


def run(args: argparse.Namespace) -> int:
    from skytrain.render.routing import RoutingSettings, build_routing, render_routes

    check_directory(args.out, "--out")
    services = services_in(args.fleet)
    path = find_environments_file(args.environments, services[0])
    environments = load_environments(path, found_in_checkout(args.environments, path))
    if args.env not in environments:
        raise UsageError(
            f"{environments.file} has no environment {args.env!r}; known: {', '.join(environments.names())}"
        )
    deployed = [s for s in services if (s / DEPLOY_DIR / f"{args.env}.yml").is_file()]
    loaded = load_many(deployed, str(environments.file), args.env, args.variables)
    apps = [by_env[args.env] for by_env in loaded.values()]
    settings = RoutingSettings(
        cluster_dns=args.cluster_dns, bridge_image=args.bridge_image, source="skytrain routes options"
    )
    shares = {} if args.no_canary else canary_shares(environments[args.env])
    model = build_routing(apps, environments[args.env], settings, source=environments.file, shares=shares)
    files = render_routes(model)
    _write(args.out, files)
    if args.check:
        _check(model)
    return EXIT_OK


def canary_shares(environment: Environment) -> dict[str, int]:
    """The shares of the services migrating (docs/migration.md), from the environment's Consul;
    none without one. A value there that is no share is refused: nothing is rendered."""
    if not environment.mesh.consul:
        return {}
    from skytrain.backends.base import SchedulerError
    from skytrain.migration.live.store import ShareStore

    try:
        snapshot = ShareStore.of(environment).snapshot()
    except SchedulerError as exc:
        raise OperationFailed(
            f"could not read the canary shares: {exc}; pass --no-canary to render without them"
        ) from None
    if snapshot.refused:
        raise UsageError("; ".join(snapshot.refused.values()))
    for name, share in sorted(snapshot.shares.items()):
        print(f"canary: {share} % of {name}'s requests to Kubernetes first (Consul)")
    return snapshot.shares


def _write(out: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = out / relative
        write_file(path, text, "--out")
        print(path)
    # a service that left the mesh must not keep its Service manifest
    manifests = out / "kubernetes"
    if manifests.exists() or manifests.is_symlink():
        check_directory(manifests, "--out")  # never delete through a planted link
    for stale in sorted(manifests.glob("*.yaml")):
        if f"kubernetes/{stale.name}" not in files:
            stale.unlink()
            print(f"removed {stale}")


def _check(model: RoutingModel) -> None:
    """`nginx -t` each config as generated, with only its pid and temp paths moved into a
    temporary prefix so that the check needs no privileges."""
    from skytrain.backends.nginx import NginxMissing, check_file
    from skytrain.render.routing import Paths, render_nginx_configs

    user = getpass.getuser() if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="skytrain-routes-check-") as prefix:
        settings = dataclasses.replace(model.settings, paths=Paths.under(prefix, user))
        configs = render_nginx_configs(dataclasses.replace(model, settings=settings))
        failures = []
        for name, text in configs.items():
            config = Path(prefix) / name
            config.write_text(text)
            try:
                result = check_file(config, Path(prefix))
            except NginxMissing as exc:
                raise UsageError(f"--check needs nginx: {exc}") from exc
            print(f"nginx -t {name}: {'ok' if result.ok else 'FAILED'}")
            if not result.ok:
                failures.append(f"{name}:\n{result.output}")
    if failures:
        raise OperationFailed("nginx -t refused generated configs:\n" + "\n".join(failures))
