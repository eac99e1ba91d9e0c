"""One Marathon app (cleaned, in its target API form) → one environment's configuration.

Every field that has a faithful equivalent in the model goes into the model's own fields, so
that Kubernetes gets it; what the model does not say stays for Marathon in the `marathon:`
escape hatch (skytrain.importer.hatch computes it), and each field Kubernetes cannot carry
over gets a warning naming its row of the conversion matrix (skytrain.importer.rules).

`intended` is the Marathon app the imported files render: the input itself, except where
a secret moved into the secret store (and where skytrain.importer.clean fixed the input).
"""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from skytrain.config.model import MAIN_PORT_NAME, SERVICE_PORT
from skytrain.config.schemas import APPLICATION, load_schema
from skytrain.importer.clean import port_list
from skytrain.importer.names import dependency_name
from skytrain.importer.notes import Notes, pointer
from skytrain.importer.secrets import secret_reason, store_reference

PLACEHOLDER_PORT = 8080
PLACEHOLDER_IMAGE = "image.invalid/{name}:replace-me"
SKYLINE_URL = re.compile(r"http://localhost:5040/service/(?P<name>[a-z0-9][a-z0-9-]*)(?P<path>/[^?#\s]*)?")
HTTP_CHECKS = ("HTTP", "HTTPS", "MESOS_HTTP", "MESOS_HTTPS")
TCP_CHECKS = ("TCP", "MESOS_TCP")
# label prefixes that configure Marathon-side tooling (routers, DC/OS, Marathon itself)
PLATFORM_LABELS = ("DCOS_", "MARATHON_", "VIP_", "vip_", "SKYTRAIN_")
# label prefixes of the routers that read Marathon (marathon-lb, Traefik's Marathon provider)
ROUTER_LABELS = ("HAPROXY_", "traefik.")
LITERAL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?")
MARATHON_DEFAULT_CHECK = {"gracePeriodSeconds": 300, "intervalSeconds": 60, "timeoutSeconds": 20}


@dataclass
class Draft:
    """One environment's configuration, its comments (by top-level key) and the app it renders."""

    document: dict[str, Any]
    intended: dict[str, Any]
    comments: dict[str, str] = field(default_factory=dict)


def _pattern(*path: str) -> re.Pattern[str]:
    node: Any = load_schema(APPLICATION)
    for part in path:
        node = node[part]
    return re.compile(node["pattern"])


def convert(app: dict[str, Any], name: str, notes: Notes) -> Draft:
    draft = Draft({"name": name}, copy.deepcopy(app))
    doc = draft.document
    _image(app, draft, notes)
    doc["scheduler"] = "marathon"
    draft.comments["scheduler"] = (
        "Marathon runs it as before; make it 'both' once the import's warnings are dealt with"
    )
    doc["replicas"] = app.get("instances", 1)
    _resources(app, doc)
    _command(app, doc)
    names = _ports(app, draft, notes)
    _env(app, draft, notes)
    _health_check(app, doc, names, notes)
    _readiness_check(app, doc, names, notes)
    _deploy(app, doc, notes)
    if "taskKillGracePeriodSeconds" in app:
        doc["stopGracePeriodSeconds"] = app["taskKillGracePeriodSeconds"]
    _labels(app, doc, notes)
    _constraints(app, doc, notes)
    _marathon_only(app, notes)
    return draft


def _image(app: dict[str, Any], draft: Draft, notes: Notes) -> None:
    container = app.get("container") or {}
    docker = container.get("docker") or {}
    image = docker.get("image")
    if not image:
        what = (
            "runs a command on the Mesos agent" if not container else "has a container without a Docker image"
        )
        notes.warn(
            "image-placeholder",
            "/container",
            f"the app {what}; Kubernetes runs images only: build one that holds what the app fetches and runs, "
            "and set image: (a placeholder is written)",
        )
    elif not _pattern("properties", "image").search(image):
        notes.warn(
            "image-placeholder",
            "/container/docker/image",
            f"{image!r} is not an image reference (a placeholder of a template?); set image: to the real one "
            "(a placeholder is written; Marathon keeps the value it had)",
        )
        image = None
    if image is None:
        draft.comments["image"] = "a placeholder: see the import's warnings"
    draft.document["image"] = image or PLACEHOLDER_IMAGE.format(name=draft.document["name"])
    if docker.get("forcePullImage") is True:
        draft.document["alwaysPullImage"] = True
    options = [key for key in ("privileged", "parameters", "pullConfig") if docker.get(key)]
    if options:
        notes.warn(
            "docker-options",
            "/container/docker",
            f"docker {', '.join(options)} stay on Marathon; on Kubernetes they are a securityContext, container "
            "settings or imagePullSecrets, through the kubernetes: escape hatch if the platform allows them",
        )


def _resources(app: dict[str, Any], doc: dict[str, Any]) -> None:
    """Marathon's own defaults (1 cpu, 128 MB) where the app leaves them out."""
    cpus, mem = app.get("cpus", 1), app.get("mem", 128)
    resources: dict[str, Any] = {}
    if cpus > 0:
        resources["cpu"] = cpus
    if mem >= 1 and float(mem).is_integer():
        resources["memory"] = f"{int(mem)}Mi"
    doc["resources"] = resources


def _command(app: dict[str, Any], doc: dict[str, Any]) -> None:
    """Marathon runs `cmd` with /bin/sh -c. Words without any shell meaning become the
    command itself; anything else runs through the same shell on Kubernetes."""
    cmd = app.get("cmd")
    if isinstance(cmd, str) and cmd.strip():
        try:
            words = shlex.split(cmd)
        except ValueError:
            words = []
        doc["command"] = words if words and shlex.join(words) == cmd else ["/bin/sh", "-c", cmd]
    elif isinstance(app.get("args"), list):
        doc["args"] = [str(arg) for arg in app["args"]]


def network_mode(app: dict[str, Any]) -> tuple[str, str | None]:
    """('bridge' | 'host' | 'container', the named network) in either API form."""
    docker = (app.get("container") or {}).get("docker") or {}
    legacy = {"BRIDGE": "bridge", "HOST": "host", "USER": "container", "NONE": "container"}
    if "network" in docker:
        return legacy.get(docker["network"], "container"), (app.get("ipAddress") or {}).get("networkName")
    networks = app.get("networks") or [{"mode": "host"}]
    first = networks[0] if isinstance(networks[0], dict) else {}
    mode = {"container/bridge": "bridge", "host": "host"}.get(first.get("mode", "host"), "container")
    return mode, first.get("name")


def _ports(app: dict[str, Any], draft: Draft, notes: Notes) -> list[str | None]:
    """`port` and `ports` from the app's ports; the model's name for each Marathon port index
    (None where a port was not carried over)."""
    doc = draft.document
    mode, network = network_mode(app)
    if mode == "host":
        notes.warn(
            "network-host",
            "/networks",
            "the app uses the agent's network (it binds the host's ports); on Kubernetes each pod has its own "
            "address and the ports below",
        )
    elif mode == "container":
        notes.warn(
            "network-named",
            "/networks",
            f"the app joins the container network {network or '(unnamed)'}; Kubernetes has one pod network: "
            "check what the app reaches over it",
        )
    entries = port_list(app)
    where = (
        "/container/portMappings" if mode != "host" and "portMappings" in (app.get("container") or {}) else ""
    )
    where = where or ("/portDefinitions" if "portDefinitions" in app else "/container/docker/portMappings")
    names: list[str | None] = []
    extra: list[dict[str, Any]] = []
    numbers: set[int] = set()
    for index, entry in enumerate(entries):
        at = f"{where}/{index}"
        number = entry.get("containerPort", entry.get("port", 0)) if mode != "host" else entry.get("port", 0)
        if entry.get("hostPort"):
            notes.warn(
                "host-port",
                f"{at}/hostPort",
                f"Marathon binds the agent's port {entry['hostPort']}; Kubernetes reaches the pod through its Service",
            )
        if entry.get("labels"):
            notes.warn(
                "port-vip",
                f"{at}/labels",
                "port labels (VIPs, load balancer names) stay on Marathon; on Kubernetes callers use the Service's "
                "cluster DNS name (a dependency)",
            )
        protocol = str(entry.get("protocol", "tcp")).lower()
        if protocol not in ("tcp", "udp"):
            notes.warn("port-protocol", f"{at}/protocol", f"{protocol} is carried over as tcp only")
            protocol = "tcp"
        if not number:
            names.append(MAIN_PORT_NAME if index == 0 else None)
            if index == 0:
                doc["port"] = PLACEHOLDER_PORT
                draft.comments["port"] = "a placeholder: see the import's warnings"
            notes.warn(
                "port-dynamic",
                at,
                f"the app listens on a port Marathon picks (${'PORT' + str(index)}); Kubernetes needs a fixed one: "
                + (
                    f"port: {PLACEHOLDER_PORT} is written, make the app listen there on Kubernetes"
                    if index == 0
                    else "add it to ports: once the app listens on a fixed one"
                ),
            )
            continue
        if index == 0:
            doc["port"] = number
            names.append(MAIN_PORT_NAME)
        elif number in numbers or number == SERVICE_PORT:
            names.append(None)
            notes.warn(
                "port-skipped",
                at,
                f"port {number} is "
                + ("given twice" if number in numbers else "the Kubernetes Service's port of the main port")
                + "; it stays on Marathon only",
            )
        else:
            name = _port_name(entry.get("name"), index, [MAIN_PORT_NAME, *(p["name"] for p in extra)])
            extra.append(
                {"name": name, "port": number, **({"protocol": protocol} if protocol != "tcp" else {})}
            )
            names.append(name)
        numbers.add(number)
    if not entries:
        doc["port"] = PLACEHOLDER_PORT
        doc["routing"] = {"mesh": False}
        draft.comments["port"] = "a placeholder: the app declares no port"
        notes.warn(
            "port-none",
            "",
            f"the app declares no port (a worker?); port: {PLACEHOLDER_PORT} is written because every service "
            "has one, and it is kept out of the mesh (routing.mesh: false)",
        )
    if extra:
        doc["ports"] = extra
    return names


def _port_name(given: Any, index: int, taken: list[str]) -> str:
    name = (
        given
        if isinstance(given, str)
        and _pattern("properties", "ports", "items", "properties", "name").search(given)
        else ""
    )
    if not name or name in taken:
        name = f"port{index}"
    return name


def _env(app: dict[str, Any], draft: Draft, notes: Notes) -> None:
    """Plain values, Skyline URLs (dependencies) and secrets (references, never values)."""
    doc, name = draft.document, draft.document["name"]
    env: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    dependencies: list[Any] = []
    marathon_secrets = app.get("secrets") or {}
    valid_name = _pattern("properties", "env", "propertyNames")
    for variable, value in sorted((app.get("env") or {}).items()):
        at = pointer("env", variable)
        if isinstance(value, dict):
            secrets[variable] = _secret_reference(variable, value, marathon_secrets, name, notes)
            continue
        if not valid_name.search(variable):
            notes.warn(
                "env-name",
                at,
                f"{variable} is not a name skytrain's env takes (letters, digits, _); it stays on Marathon only: "
                "rename it in the app to carry it to Kubernetes",
            )
            if value and secret_reason(variable, value):
                _store_secret(draft, variable, store_reference(name, variable), notes, at, valid=False)
            continue
        dependency = _dependency(variable, value, name)
        if dependency is not None:
            dependencies.append(dependency)
            _renamed_callee(variable, value, dependency, notes)
        elif value and (why := secret_reason(variable, value)):
            reference = store_reference(name, variable)
            secrets[variable] = reference
            _store_secret(draft, variable, reference, notes, at, valid=True, why=why)
        else:
            env[variable] = value
    for section, content in (("env", env), ("secrets", secrets), ("dependencies", dependencies)):
        if content:
            doc[section] = content


def _renamed_callee(variable: str, value: str, dependency: Any, notes: Notes) -> None:
    callee = dependency if isinstance(dependency, str) else dependency["name"]
    match = SKYLINE_URL.fullmatch(value)
    if match is not None and match["name"] != callee:
        notes.warn(
            "dependency-renamed",
            pointer("env", variable),
            f"{variable} calls {match['name']}, which skytrain names {callee}: Kubernetes calls {callee}, and "
            f"Marathon keeps the URL of today (marathon.env) until {callee} is deployed under its new name; "
            f"then remove marathon.env.{variable}",
        )


def _secret_reference(
    variable: str, value: dict[str, Any], marathon_secrets: dict[str, Any], service: str, notes: Notes
) -> dict[str, str]:
    at = pointer("env", variable)
    source = (marathon_secrets.get(value.get("secret")) or {}).get("source")
    reference = store_reference(service, variable, source if isinstance(source, str) else None)
    notes.warn(
        "env-secret-ref",
        at,
        f"{variable} reads Marathon's secret {source or value.get('secret')!r}; on Kubernetes it reads key "
        f"{reference['key']!r} of the Secret {reference['secret']!r}: create it with the same value",
    )
    return reference


def _store_secret(
    draft: Draft,
    variable: str,
    reference: dict[str, str],
    notes: Notes,
    at: str,
    valid: bool,
    why: str = "",
) -> None:
    """The value leaves the app: Marathon reads it from its secret store, as the model renders
    a secret (or, for a name the model refuses, as the escape hatch says)."""
    intended = draft.intended
    secret_id = variable if valid else re.sub(r"[^A-Za-z0-9_]", "_", variable)
    intended.setdefault("env", {})[variable] = {"secret": secret_id}
    intended.setdefault("secrets", {})[secret_id] = {"source": f"{reference['secret']}/{reference['key']}"}
    draft.comments["secrets"] = "references with placeholder names: see the import's warnings"
    notes.warn(
        "env-secret-shape",
        at,
        f"{variable} looks like a secret ({why or 'by its value'}) and was not written: put its value into the "
        f"secret store as secret {reference['secret']!r}, key {reference['key']!r} (Kubernetes: a Secret; Marathon: "
        f"the store path {reference['secret']}/{reference['key']})",
        (at, pointer("secrets", secret_id)),
    )


def _dependency(variable: str, value: str, service: str) -> Any:
    """A Skyline URL as a dependency on the service it names, the variable and the sub-path kept."""
    match = SKYLINE_URL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    callee = dependency_name(match["name"])
    path = match["path"] or ""
    if callee is None or callee == service or not _pattern_ok(path):
        return None
    entry: dict[str, Any] = {"name": callee}
    if variable != callee.upper().replace("-", "_") + "_URL":
        entry["env"] = variable
    if path != "/":
        entry["path"] = path
    return callee if len(entry) == 1 else entry


def _pattern_ok(path: str) -> bool:
    node = load_schema(APPLICATION)["properties"]["dependencies"]["items"]["anyOf"][1]["properties"]["path"]
    return re.search(node["pattern"], path) is not None


def _first_check(app: dict[str, Any], key: str, rule: str, notes: Notes) -> dict[str, Any] | None:
    """The check Kubernetes gets: the first; the others stay on Marathon, with a warning each."""
    checks = app.get(key) or []
    for index in range(1, len(checks)):
        notes.warn(
            rule,
            pointer(key, index),
            "Kubernetes takes one such check per container; this one stays on Marathon",
        )
    return checks[0] if checks else None


def _health_check(app: dict[str, Any], doc: dict[str, Any], names: list[str | None], notes: Notes) -> None:
    check = _first_check(app, "healthChecks", "health-other", notes)
    if check is None:
        return
    protocol = check.get("protocol", "HTTP")
    health: dict[str, Any] = {}
    if protocol in HTTP_CHECKS:
        path = check.get("path", "/")
        if not _pattern("properties", "healthCheck", "properties", "path").search(path):
            notes.warn(
                "health-other",
                "/healthChecks/0/path",
                "this check's path has a query or spaces; kept on Marathon only",
            )
            return
        health["path"] = path
        if protocol.endswith("HTTPS"):
            notes.warn(
                "health-other",
                "/healthChecks/0/protocol",
                "Kubernetes probes this path over plain HTTP: add scheme: HTTPS to the probes through the "
                "kubernetes: escape hatch",
            )
    elif protocol in TCP_CHECKS:
        health["tcp"] = True
    else:
        health["command"] = (check.get("command") or {}).get("value", "true")
    if protocol != "COMMAND":
        port = _check_port(check, names)
        if port is None:
            notes.warn(
                "health-other",
                "/healthChecks/0",
                "this check's port was not carried over; it checks port instead",
            )
        elif port != MAIN_PORT_NAME:
            health["port"] = port
    timings = {**MARATHON_DEFAULT_CHECK, **check}
    health["gracePeriodSeconds"] = timings["gracePeriodSeconds"]
    health["intervalSeconds"] = max(1, timings["intervalSeconds"])
    health["timeoutSeconds"] = max(1, timings["timeoutSeconds"])
    failures = check.get("maxConsecutiveFailures", 3)
    if failures == 0:
        notes.warn(
            "health-other",
            "/healthChecks/0/maxConsecutiveFailures",
            "Marathon never kills a task for failing this check; Kubernetes restarts a container after "
            "consecutiveFailures (3 is written)",
        )
    health["consecutiveFailures"] = failures or 3
    doc["healthCheck"] = health


def _check_port(check: dict[str, Any], names: list[str | None]) -> str | None:
    index = check.get("portIndex", 0)
    if "port" in check:
        return None
    return names[index] if isinstance(index, int) and 0 <= index < len(names) else None


def _readiness_check(app: dict[str, Any], doc: dict[str, Any], names: list[str | None], notes: Notes) -> None:
    check = _first_check(app, "readinessChecks", "readiness-other", notes)
    if check is None:
        return
    path = check.get("path", "/")
    if not _pattern("properties", "readinessCheck", "properties", "path").search(path):
        notes.warn(
            "readiness-other", "/readinessChecks/0/path", "this path has a query or spaces; kept on Marathon"
        )
        return
    ready: dict[str, Any] = {"path": path}
    marathon_names = [p.get("name") for p in port_list(app)]
    wanted = check.get("portName", "http-api")
    port = names[marathon_names.index(wanted)] if wanted in marathon_names else None
    if port is None:
        notes.warn(
            "readiness-other",
            "/readinessChecks/0/portName",
            f"no port {wanted!r} was carried over; it checks port",
        )
    elif port != MAIN_PORT_NAME:
        ready["port"] = port
    for key, default in (("intervalSeconds", 30), ("timeoutSeconds", 10)):
        if check.get(key, default) != default:
            ready[key] = max(1, check[key])
    if check.get("httpStatusCodesForReady", [200]) != [200] or check.get("protocol") == "HTTPS":
        notes.warn(
            "readiness-other",
            "/readinessChecks/0",
            "Kubernetes counts any 2xx or 3xx answer as ready, over HTTP; this check's protocol or status codes "
            "stay on Marathon",
        )
    doc["readinessCheck"] = ready


def _deploy(app: dict[str, Any], doc: dict[str, Any], notes: Notes) -> None:
    strategy = {"minimumHealthCapacity": 1, "maximumOverCapacity": 1, **(app.get("upgradeStrategy") or {})}
    deploy = {"minimumHealthyCapacity": strategy["minimumHealthCapacity"]}
    if strategy["minimumHealthCapacity"] == 1 and strategy["maximumOverCapacity"] == 0:
        notes.warn(
            "upgrade-stuck",
            "/upgradeStrategy",
            "with every copy kept healthy and none extra, Kubernetes cannot roll out: it may start 25% extra "
            "(Marathon keeps its strategy)",
        )
    else:
        deploy["maximumOverCapacity"] = strategy["maximumOverCapacity"]
    doc["deploy"] = deploy


def _labels(app: dict[str, Any], doc: dict[str, Any], notes: Notes) -> None:
    labels = {}
    balancer = []
    valid = _pattern("properties", "labels", "propertyNames")
    for key, value in (app.get("labels") or {}).items():
        if key.startswith(ROUTER_LABELS):
            balancer.append(key)
        elif key.startswith(PLATFORM_LABELS):
            continue
        elif valid.search(key) and isinstance(value, str):
            labels[key] = value
        else:
            notes.warn(
                "label-name",
                pointer("labels", key),
                "Kubernetes refuses this annotation name; kept on Marathon",
            )
    if balancer:
        notes.warn(
            "labels-lb",
            "/labels",
            f"router settings ({', '.join(sorted(balancer))}) stay on Marathon; on Kubernetes the service is "
            "reached through Skyline and its Service, and a virtual host or public port needs an Ingress",
        )
    if labels:
        doc["labels"] = labels


def _constraints(app: dict[str, Any], doc: dict[str, Any], notes: Notes) -> None:
    carried = []
    attribute_ok = _pattern("properties", "constraints", "items", "properties", "attribute")
    for index, raw in enumerate(app.get("constraints") or []):
        at = pointer("constraints", index)
        attribute, operator = (str(raw[0]), str(raw[1]).upper()) if len(raw) >= 2 else ("", "")
        value = str(raw[2]) if len(raw) > 2 else None
        known = attribute_ok.search(attribute) is not None and (
            (operator == "UNIQUE" and value is None)
            or (operator == "GROUP_BY" and (value is None or value.isdigit()))
            or (operator == "MAX_PER" and value is not None and value.isdigit())
            or (operator == "LIKE" and value is not None and LITERAL.fullmatch(value) is not None)
        )
        if not known:
            notes.warn(
                "constraint-other",
                at,
                f"{' '.join(map(str, raw))} has no Kubernetes equivalent (a pattern, UNLIKE or CLUSTER); it stays on "
                "Marathon: place the pods with the kubernetes: escape hatch (node affinity) if it matters",
            )
            continue
        if operator == "MAX_PER":
            notes.warn(
                "constraint-max-per",
                at,
                f"MAX_PER {value} becomes a topology spread with maxSkew {value} on Kubernetes: the difference "
                "between groups is bounded, not the count per group",
            )
        carried.append({"attribute": attribute, "operator": operator, **({"value": value} if value else {})})
    if carried:
        doc["constraints"] = carried


def _marathon_only(app: dict[str, Any], notes: Notes) -> None:
    """Warnings for what stays on Marathon and needs a decision on Kubernetes."""
    for index, volume in enumerate((app.get("container") or {}).get("volumes") or []):
        at = pointer("container", "volumes", index)
        if "persistent" in volume:
            notes.warn(
                "volume-persistent",
                at,
                "a local persistent volume: Kubernetes needs a PersistentVolumeClaim (and a StatefulSet) for it",
            )
        elif "external" in volume:
            notes.warn(
                "volume-other", at, "an external volume: Kubernetes needs a PersistentVolumeClaim for it"
            )
        elif "secret" in volume:
            notes.warn(
                "volume-other", at, "a secret file: on Kubernetes mount a Secret volume (escape hatch)"
            )
        elif "hostPath" in volume:
            place = "the agent's" if str(volume["hostPath"]).startswith("/") else "the task's sandbox"
            notes.warn(
                "volume-host",
                at,
                f"a path of {place} ({volume['hostPath']}) mounted at {volume.get('containerPath')}: on Kubernetes "
                "bake it into the image, or use a ConfigMap or a volume",
            )
    if app.get("residency"):
        notes.warn(
            "volume-persistent",
            "/residency",
            "residency keeps tasks on their volumes: Kubernetes needs a StatefulSet",
        )
    fetched = app.get("fetch") or app.get("uris")
    if fetched:
        notes.warn(
            "fetch",
            "/fetch" if "fetch" in app else "/uris",
            f"Marathon downloads {len(fetched)} file(s) into the sandbox before the task starts; Kubernetes does "
            "not: put them into the image (or an init container)",
        )
    roles = [r for r in app.get("acceptedResourceRoles") or [] if r != "*"]
    if roles:
        notes.warn(
            "roles",
            "/acceptedResourceRoles",
            f"the app runs only on agents with role(s) {', '.join(roles)} (e.g. public agents); on Kubernetes that "
            "is a node selector or an Ingress: tell the platform team",
        )
    if app.get("user"):
        notes.warn(
            "user",
            "/user",
            f"the task runs as {app['user']!r}; on Kubernetes set runAsUser (a number) if it matters",
        )
    if app.get("dependencies"):
        notes.warn(
            "app-dependencies",
            "/dependencies",
            "Marathon starts this app after the apps it depends on; Kubernetes has no start order: the app must "
            "wait for them itself",
        )
    for key in ("disk", "gpus"):
        if app.get(key):
            notes.warn(
                "disk", pointer(key), f"{key} {app[key]} stays on Marathon; Kubernetes needs it as a resource"
            )
