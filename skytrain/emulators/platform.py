"""The platform the end-to-end tests and the demo deploy to: per environment (dev, staging, production)
its own Marathon emulator (requiring credentials) and its own emulated Kubernetes cluster
with controllers, as the environments file maps them (each environment its own Marathon URL
and kube context), a kubeconfig naming the three clusters, and an environments file
pointing at all of it.

Every emulator records its requests with time.monotonic() (`calls`), and the controllers
when a rollout became healthy, so a test can put the whole run on one time line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skytrain.emulators.kubernetes import ClusterEmulator, write_kubeconfig
from skytrain.emulators.kubernetes_controllers import Controller, cluster
from skytrain.emulators.marathon import Behaviour, MarathonEmulator

ENVIRONMENTS = ("dev", "staging", "production")
# as in examples/skytrain-environments.yml: dev still runs Marathon 1.4
MARATHON_VERSIONS = {"dev": "1.4", "staging": "1.7", "production": "1.7"}
NAMESPACE = "default"
# every Marathon requires these (401 otherwise); skytrain reads them from MARATHON_USER/_PASSWORD
MARATHON_CREDENTIALS = ("jenkins", "m4rathon-pa55word")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Platform:
    marathon: dict[str, MarathonEmulator]
    kubernetes: dict[str, ClusterEmulator]
    controllers: dict[str, Controller]
    kubeconfig: Path
    environments: Path

    def process_env(self, kubeconfig: Path | None = None) -> dict[str, str]:
        """What a skytrain or make process needs to reach the platform: the Marathons'
        credentials and a kubeconfig (this platform's, unless a narrower one is given)."""
        return {
            "MARATHON_USER": MARATHON_CREDENTIALS[0],
            "MARATHON_PASSWORD": MARATHON_CREDENTIALS[1],
            "KUBECONFIG": str(kubeconfig or self.kubeconfig),
        }

    def marathon_image(self, env: str, app: str = "giphy") -> str | None:
        found = self.marathon[env].app(app)
        return found["container"]["docker"]["image"] if found else None

    def marathon_healthy(self, env: str, app: str = "giphy") -> bool:
        found = self.marathon[env].app(app)
        return bool(found) and not found["deployments"] and found["tasksHealthy"] == found["instances"]

    def deployment(self, env: str, name: str = "giphy") -> dict[str, Any] | None:
        return self.kubernetes[env].get("Deployment", NAMESPACE, name)

    def kubernetes_image(self, env: str, name: str = "giphy") -> str | None:
        found = self.deployment(env, name)
        return found["spec"]["template"]["spec"]["containers"][0]["image"] if found else None

    def kubernetes_healthy(self, env: str, name: str = "giphy") -> bool:
        found = self.deployment(env, name)
        if found is None:
            return False
        status, replicas = found.get("status", {}), found["spec"]["replicas"]
        return (
            status.get("observedGeneration") == found["metadata"]["generation"]
            and status.get("updatedReplicas") == status.get("availableReplicas") == replicas
            and status.get("replicas") == replicas
        )

    def writes(self, env: str) -> list[float]:
        """When each write request reached the environment's schedulers (monotonic clock)."""
        return sorted(
            [c.at for c in self.marathon[env].calls if c.method in WRITES]
            + [c.at for c in self.kubernetes[env].calls if c.method in WRITES]
        )

    def requests(self, env: str) -> list[float]:
        return sorted([c.at for c in self.marathon[env].calls] + [c.at for c in self.kubernetes[env].calls])

    def healthy_at(self, env: str) -> float:
        """When the last of the environment's rollouts became healthy: Marathon's deployment
        finished, the Kubernetes controller wrote a fully ready status."""
        finished = [e["at"] for e in self.marathon[env].events if e["eventType"] == "deployment_success"]
        ready = list(self.controllers[env].healthy_at.values())
        return max(finished + ready)


@contextlib.contextmanager
def emulated_platform(
    tmp: Path,
    healthy_after: float = 0.02,
    names: Sequence[str] = ENVIRONMENTS,
    by_image: dict[str, str] | None = None,
) -> Iterator[Platform]:
    """Start everything for the environments `names`; the kubeconfig and environments file are written
    into `tmp`. `by_image` tells the Kubernetes controllers which images end how (see
    kubernetes_controllers.Controller), e.g. {":crash": CRASH_LOOP}."""
    with contextlib.ExitStack() as stack:
        marathon, kubernetes, controllers = {}, {}, {}
        for env in names:
            marathon[env] = stack.enter_context(
                MarathonEmulator(
                    flavour=MARATHON_VERSIONS[env],
                    behaviour=Behaviour.healthy(healthy_after),
                    credentials=MARATHON_CREDENTIALS,
                )
            )
            (tmp / env).mkdir()
            kubernetes[env], controllers[env], _ = stack.enter_context(
                cluster(tmp / env, by_image=dict(by_image or {}))
            )
        kubeconfig = write_kubeconfig(tmp / "kubeconfig", {env: kubernetes[env].address for env in names})
        environments = tmp / "skytrain-environments.yml"
        environments.write_text(
            "environments:\n"
            + "".join(
                f"  {env}:\n"
                f"    marathon: {{url: '{marathon[env].url}', version: '{MARATHON_VERSIONS[env]}'}}\n"
                f"    kubernetes: {{context: {env}, namespace: {NAMESPACE}}}\n"
                for env in names
            )
        )
        yield Platform(marathon, kubernetes, controllers, kubeconfig, environments)
