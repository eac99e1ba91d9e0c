"""The conversion matrix: every Marathon field `skytrain import marathon` knows, where it goes
in the service's files, and what Kubernetes gets of it.

This table is the one the converter cites: every warning it gives names one of these rules
(`RULES[key]`), and docs/import.md's matrix is generated from it (`skytrain import marathon
--matrix`; a test compares the two), so the documentation cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass

# what happens to a field, from best to worst
CARRIED = "carried over"  # the same behaviour on both schedulers
APPROXIMATED = "approximated, with a warning"  # close, but not the same: the warning says how
MARATHON_ONLY = "kept for Marathon"  # no meaning on Kubernetes, nothing to do there
WARNED = "kept for Marathon, with a warning"  # Kubernetes needs a decision: the warning says which
FIXED = "fixed, with a warning"  # Marathon refuses the value as written: what runs differs
REFUSED = "refused (exit 2)"


@dataclass(frozen=True)
class Rule:
    marathon: str  # the Marathon field(s), as a JSON path
    skytrain: str  # where it goes in deploy/*.yml
    kubernetes: str  # what the Kubernetes render makes of it
    verdict: str


_RULES: tuple[tuple[str, Rule], ...] = (
    # identity and size
    ("id", Rule("id", "`name` (last segment, lowercased)", "object names", CARRIED)),
    ("id-renamed", Rule("id (`-service` / `service-`, other characters)", "`name`", "object names", WARNED)),
    ("id-group", Rule("id (its group)", "the environment's `marathon.group`", "-", WARNED)),
    ("instances", Rule("instances", "`replicas`", "spec.replicas", CARRIED)),
    ("cpus", Rule("cpus", "`resources.cpu`", "requests.cpu", CARRIED)),
    ("mem", Rule("mem", "`resources.memory`", "requests and limits memory", CARRIED)),
    ("disk", Rule("disk, gpus", "`marathon:`", "-", WARNED)),
    # what runs
    ("image", Rule("container.docker.image", "`image`", "the container's image", CARRIED)),
    ("image-placeholder", Rule("container (none, or no image)", "`image` (a placeholder)", "-", WARNED)),
    (
        "container-mesos",
        Rule("container.type MESOS (UCR)", "`marathon:`", "the image runs as usual", MARATHON_ONLY),
    ),
    (
        "force-pull",
        Rule("container.docker.forcePullImage", "`alwaysPullImage`", "imagePullPolicy: Always", CARRIED),
    ),
    (
        "docker-options",
        Rule("container.docker.privileged, parameters, pullConfig", "`marathon:`", "-", WARNED),
    ),
    ("cmd", Rule("cmd", "`command` (its words, or /bin/sh -c with `marathon.cmd`)", "command", CARRIED)),
    ("args", Rule("args", "`args`", "args", CARRIED)),
    ("cmd-and-args", Rule("cmd and args together", "`command` only", "command", FIXED)),
    ("user", Rule("user", "`marathon:`", "-", WARNED)),
    # environment
    ("env", Rule("env", "`env`", "the env ConfigMap", CARRIED)),
    (
        "env-skyline",
        Rule("env (a Skyline URL)", "`dependencies` (`env`, `path`)", "cluster DNS URL, same path", CARRIED),
    ),
    (
        "dependency-renamed",
        Rule(
            "env (a Skyline URL of a service skytrain names otherwise)",
            "`dependencies`, `marathon.env`",
            "cluster DNS URL",
            WARNED,
        ),
    ),
    (
        "env-secret-shape",
        Rule("env (a value that looks like a secret)", "`secrets` (placeholder)", "secretKeyRef", WARNED),
    ),
    ("env-secret-ref", Rule("env {secret} + secrets", "`secrets`", "secretKeyRef", WARNED)),
    ("env-name", Rule("env (a name skytrain's env refuses)", "`marathon.env`", "-", WARNED)),
    # network and ports
    (
        "network-bridge",
        Rule(
            "networks container/bridge, docker.network BRIDGE", "(the default)", "the pod's own IP", CARRIED
        ),
    ),
    ("network-host", Rule("networks host, docker.network HOST", "`marathon:`", "the pod's own IP", WARNED)),
    ("network-named", Rule("networks container (named), USER, ipAddress", "`marathon:`", "-", WARNED)),
    (
        "ports",
        Rule(
            "portMappings, portDefinitions, ports",
            "`port`, `ports` (named)",
            "container and Service ports",
            CARRIED,
        ),
    ),
    (
        "port-dynamic",
        Rule("containerPort 0, port 0 ($PORT0)", "`port` (a placeholder)", "a fixed port", WARNED),
    ),
    ("port-none", Rule("(no port)", "`port` (a placeholder), `routing.mesh: false`", "-", WARNED)),
    ("port-protocol", Rule("portMappings protocol udp,tcp", "`ports` (tcp)", "TCP", APPROXIMATED)),
    (
        "port-skipped",
        Rule("a further port numbered 8080, or a number given twice", "`marathon:`", "-", WARNED),
    ),
    ("host-port", Rule("hostPort (fixed)", "`marathon:`", "-", WARNED)),
    ("service-port", Rule("servicePort, requirePorts", "`marathon:`", "-", MARATHON_ONLY)),
    ("port-vip", Rule("port labels (VIP_n)", "`marathon:`", "the Service (cluster DNS)", WARNED)),
    # checks
    ("health-http", Rule("healthChecks HTTP, MESOS_HTTP", "`healthCheck.path`", "httpGet probes", CARRIED)),
    ("health-tcp", Rule("healthChecks TCP, MESOS_TCP", "`healthCheck.tcp`", "tcpSocket probes", CARRIED)),
    (
        "health-command",
        Rule("healthChecks COMMAND", "`healthCheck.command`", "exec probes (/bin/sh -c)", CARRIED),
    ),
    (
        "health-timing",
        Rule(
            "gracePeriodSeconds, intervalSeconds, timeoutSeconds, maxConsecutiveFailures",
            "`healthCheck` timings",
            "startup probe (grace), period, timeout, failureThreshold",
            CARRIED,
        ),
    ),
    (
        "health-marathon",
        Rule(
            "healthChecks (checked by Marathon: HTTP, TCP; delaySeconds)",
            "`marathon.healthChecks`",
            "as above",
            MARATHON_ONLY,
        ),
    ),
    (
        "health-other",
        Rule("healthChecks beyond the first, HTTPS, maxConsecutiveFailures 0", "`marathon:`", "-", WARNED),
    ),
    ("readiness", Rule("readinessChecks", "`readinessCheck`", "readinessProbe", CARRIED)),
    (
        "readiness-other",
        Rule("readinessChecks beyond the first, HTTPS, status codes", "`marathon:`", "-", WARNED),
    ),
    # lifecycle and placement
    (
        "kill-grace",
        Rule(
            "taskKillGracePeriodSeconds", "`stopGracePeriodSeconds`", "terminationGracePeriodSeconds", CARRIED
        ),
    ),
    (
        "upgrade",
        Rule(
            "upgradeStrategy",
            "`deploy.minimumHealthyCapacity`, `maximumOverCapacity`",
            "RollingUpdate",
            CARRIED,
        ),
    ),
    (
        "upgrade-stuck",
        Rule("upgradeStrategy 1 / 0", "`marathon.upgradeStrategy`", "maxSurge 25%", APPROXIMATED),
    ),
    ("labels", Rule("labels", "`labels`", "Deployment annotations", CARRIED)),
    (
        "labels-platform",
        Rule("labels DCOS_*, MARATHON_*, VIP_*", "`marathon.labels`", "-", MARATHON_ONLY),
    ),
    ("label-name", Rule("labels (a name Kubernetes refuses)", "`marathon.labels`", "-", WARNED)),
    ("labels-lb", Rule("labels HAPROXY_* (marathon-lb), traefik.*", "`marathon.labels`", "-", WARNED)),
    ("constraint-unique", Rule("constraints UNIQUE", "`constraints`", "required pod anti-affinity", CARRIED)),
    (
        "constraint-group-by",
        Rule("constraints GROUP_BY", "`constraints`", "topology spread (maxSkew 1)", CARRIED),
    ),
    (
        "constraint-max-per",
        Rule("constraints MAX_PER", "`constraints`", "topology spread (maxSkew n)", APPROXIMATED),
    ),
    (
        "constraint-literal",
        Rule("constraints LIKE (a plain value)", "`constraints`", "nodeSelector", CARRIED),
    ),
    (
        "constraint-other",
        Rule("constraints LIKE (a pattern), UNLIKE, CLUSTER", "`marathon.constraints`", "-", WARNED),
    ),
    ("roles", Rule("acceptedResourceRoles, role", "`marathon:`", "-", WARNED)),
    ("app-dependencies", Rule("dependencies (start order)", "`marathon:`", "-", WARNED)),
    (
        "marathon-only",
        Rule(
            "backoff*, maxLaunchDelaySeconds, killSelection, unreachableStrategy, executor, tty",
            "`marathon:`",
            "-",
            MARATHON_ONLY,
        ),
    ),
    # storage and artifacts
    ("volume-persistent", Rule("container.volumes persistent, residency", "`marathon:`", "-", WARNED)),
    ("volume-host", Rule("container.volumes hostPath", "`marathon:`", "-", WARNED)),
    ("volume-other", Rule("container.volumes external, secret", "`marathon:`", "-", WARNED)),
    ("fetch", Rule("fetch, uris", "`marathon:`", "-", WARNED)),
    # what Marathon itself would refuse or ignore
    (
        "fix-type",
        Rule(
            "a number written as a string, a lower-case enum",
            "the value Marathon means",
            "as the field",
            FIXED,
        ),
    ),
    (
        "fix-shape",
        Rule(
            "docker.type, mixed network forms, a health check's portName",
            "the form Marathon accepts",
            "as the field",
            FIXED,
        ),
    ),
    ("fix-range", Rule("upgradeStrategy above 1", "1", "as the field", FIXED)),
    (
        "fix-unknown",
        Rule("fields Marathon does not know (maintainer), role (1.8+), storeUrls", "dropped", "-", FIXED),
    ),
    ("pod", Rule("pods (containers)", "-", "-", REFUSED)),
    ("template", Rule("template placeholders ({{.x}}) in id or numbers", "-", "-", REFUSED)),
)
RULES: dict[str, Rule] = dict(_RULES)


def matrix() -> str:
    """The table as Markdown, for docs/import.md."""
    lines = [
        "| Marathon | in deploy/*.yml | Kubernetes | result |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r.marathon} | {r.skytrain} | {r.kubernetes} | {r.verdict} |" for _, r in _RULES]
    counts: dict[str, int] = {}
    for _, rule in _RULES:
        counts[rule.verdict] = counts.get(rule.verdict, 0) + 1
    summary = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    return "\n".join([*lines, "", f"{len(_RULES)} rules: {summary}."]) + "\n"
