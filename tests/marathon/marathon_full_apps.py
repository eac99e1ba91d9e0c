"""Valid app definitions that set every field Marathon knows, one per API form (and the
1.5+ form written in the deprecated 1.4 spellings), written here from API-NOTES and
Marathon's documentation: the bases that tests/marathon/test_schema_upstream.py damages
field by field.
"""

from __future__ import annotations

from typing import Any

_VERSION = "2026-11-20T09:14:03.164Z"
_SHARED_FIELDS: dict[str, Any] = {
    "user": "nobody",
    "env": {"LOG_LEVEL": "info", "API_KEY": {"secret": "api-key"}},
    "secrets": {"api-key": {"source": "shop/giphy/api-key"}},
    "instances": 2,
    "cpus": 0.5,
    "mem": 256,
    "disk": 0,
    "gpus": 0,
    "executor": "//cmd",
    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "3"]],
    "acceptedResourceRoles": ["*", "slave_public"],
    "labels": {"team": "gifs"},
    "portDefinitions": [{"port": 0, "protocol": "tcp", "name": "admin", "labels": {"VIP_1": "/giphy:81"}}],
    "requirePorts": False,
    "fetch": [
        {"uri": "https://example.com/giphy.tgz", "executable": False, "extract": True, "cache": False},
        {"uri": "https://example.com/run.sh", "executable": True, "destPath": "run.sh"},
    ],
    "readinessChecks": [
        {
            "name": "ready",
            "protocol": "HTTP",
            "path": "/ready",
            "portName": "http",
            "intervalSeconds": 30,
            "timeoutSeconds": 10,
            "httpStatusCodesForReady": [200, 204],
            "preserveLastResponse": True,
        }
    ],
    "dependencies": ["/shop/db", "../cache"],
    "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0},
    "unreachableStrategy": {"inactiveAfterSeconds": 300, "expungeAfterSeconds": 600},
    "killSelection": "OLDEST_FIRST",
    "taskKillGracePeriodSeconds": 30,
    "backoffSeconds": 1,
    "backoffFactor": 1.15,
    "maxLaunchDelaySeconds": 3600,
    "residency": {"relaunchEscalationTimeoutSeconds": 3600, "taskLostBehavior": "WAIT_FOREVER"},
    "version": _VERSION,
    "versionInfo": {"lastScalingAt": _VERSION, "lastConfigChangeAt": _VERSION},
}
_PORT_MAPPING = {
    "containerPort": 8080,
    "hostPort": 0,
    "servicePort": 10001,
    "protocol": "tcp",
    "name": "http",
    "labels": {"VIP_0": "/giphy:80"},
}
_HOST_VOLUME = {"containerPath": "/etc/giphy", "hostPath": "/etc/giphy", "mode": "RO"}
_EXTERNAL_VOLUME = {
    "containerPath": "/data",
    "mode": "RW",
    "external": {"name": "giphy-data", "provider": "dvdi", "size": 5, "options": {"dvdi/driver": "rexray"}},
}
_PERSISTENT = {"size": 100, "type": "mount", "maxSize": 200, "constraints": [["path", "LIKE", "/mnt/ssd.*"]]}
_HEALTH_CHECKS = [
    {
        "protocol": "MESOS_HTTP",
        "path": "/healthz",
        "portIndex": 1,
        "gracePeriodSeconds": 120,
        "intervalSeconds": 15,
        "timeoutSeconds": 3,
        "maxConsecutiveFailures": 5,
        "delaySeconds": 15,
        "ignoreHttp1xx": False,
    },
    {"protocol": "COMMAND", "command": {"value": "curl -f localhost:8080/status"}, "port": 8080},
]
_IP_ADDRESS = {
    "networkName": "dcos",
    "groups": ["web"],
    "labels": {"zone": "a"},
    "discovery": {"ports": [{"number": 8080, "name": "http", "protocol": "tcp"}]},
}

# Marathon 1.4: networking inside the Docker container, an IP per task, storeUrls
APP_14: dict[str, Any] = {
    "id": "/shop/giphy",
    "cmd": "/app/giphy --port $PORT0",
    **_SHARED_FIELDS,
    "container": {
        "type": "DOCKER",
        "docker": {
            "image": "registry.example.com/giphy:1",
            "forcePullImage": False,
            "privileged": False,
            "parameters": [{"key": "cap-add", "value": "SYS_ADMIN"}],
            "credential": {"principal": "deployer"},
            "network": "USER",
            "portMappings": [_PORT_MAPPING],
        },
        "volumes": [
            _HOST_VOLUME,
            _EXTERNAL_VOLUME,
            {"containerPath": "data", "mode": "RW", "persistent": _PERSISTENT},
        ],
    },
    "ipAddress": _IP_ADDRESS,
    "ports": [0],
    "uris": ["https://example.com/giphy.jar"],
    "storeUrls": ["https://example.com/assets.tgz"],
    "healthChecks": [{**_HEALTH_CHECKS[0], "delaySeconds": 2}, _HEALTH_CHECKS[1]],
}

# Marathon 1.5+: networks, container.portMappings, the 1.5 and 1.6 additions
APP_15: dict[str, Any] = {
    "id": "/shop/giphy",
    "args": ["/app/giphy", "--port", "8080"],
    "tty": False,
    **_SHARED_FIELDS,
    "executorResources": {"cpus": 0.1, "mem": 32, "disk": 10},
    "networks": [{"mode": "container", "name": "dcos", "labels": {"zone": "a"}}],
    "container": {
        "type": "MESOS",
        "docker": {
            "image": "registry.example.com/giphy:1",
            "forcePullImage": True,
            "pullConfig": {"secret": "registry-config"},
        },
        "portMappings": [{**_PORT_MAPPING, "networkNames": ["dcos"]}],
        "volumes": [
            _HOST_VOLUME,
            _EXTERNAL_VOLUME,
            {"containerPath": "data", "mode": "RW", "persistent": {**_PERSISTENT, "profileName": "fast"}},
        ],
    },
    "healthChecks": [{**_HEALTH_CHECKS[0], "ipProtocol": "IPv6"}, _HEALTH_CHECKS[1]],
}

# Marathon 1.5+ reading the deprecated 1.4 spellings (it translates them), and an AppC image
APP_15_IN_14_SPELLING: dict[str, Any] = {
    "id": "/shop/giphy",
    "cmd": "/app/giphy",
    **_SHARED_FIELDS,
    "container": {
        "type": "MESOS",
        "appc": {
            "image": "example.com/giphy",
            "id": "sha512-8a1b2c3d4e5f",
            "labels": {"os": "linux"},
            "forcePullImage": False,
        },
        "docker": {
            "image": "registry.example.com/giphy:1",
            "network": "BRIDGE",
            "portMappings": [{**_PORT_MAPPING, "protocol": "udp,tcp", "networkNames": ["bridge"]}],
        },
    },
    "ipAddress": {
        **_IP_ADDRESS,
        "discovery": {"ports": [{"number": 53, "protocol": "udp", "labels": {"a": "b"}}]},
    },
    "ports": [10053],
    "uris": ["https://example.com/giphy.jar"],
    "unreachableStrategy": "disabled",
    "healthChecks": _HEALTH_CHECKS,
}

FULL_APPS = {"1.4": [APP_14], "1.5": [APP_15, APP_15_IN_14_SPELLING]}
