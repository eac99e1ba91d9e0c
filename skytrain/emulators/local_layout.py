"""The local platform's names, shared by its process (local.py) and by `skytrain dev`
(commands/dev.py, dev_platform.py), which imports none of the emulators themselves."""

from __future__ import annotations

PLATFORM_MODULE = "skytrain.emulators.local"
ENVIRONMENTS = ("dev", "staging", "production")
TARGETS = ("marathon", "kubernetes")
FAULTS = ("crash-loop", "image-pull", "slow", "5xx")
SLOW_SECONDS = 10.0  # a slow rollout's length, unless given
ERROR_COUNT = 3  # how many requests a 5xx fault answers, unless given

# the files in the platform's folder
STATE_FILE = "platform.json"
ENVIRONMENTS_FILE = "environments.yml"
KUBECONFIG_FILE = "kubeconfig"
LOG_FILE = "platform.log"
