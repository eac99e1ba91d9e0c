"""What a secret looks like: by its name (skytrain's rules) and by its shape (Yelp's detect-secrets).

Used to refuse secrets written into deploy files (skytrain.config.checks), to keep template
variables whose value looks like a secret from ever rendering (skytrain.config.variables),
and to mask secrets in everything skytrain prints (skytrain.redact).

detect-secrets costs ~100 ms to import, and it imports `requests` for its optional online
verification, which skytrain never turns on (the pure path stays offline). Nearly every
value of a service's files cannot match any detector enabled here, so `could_be_secret`, a
cheap necessary condition derived from those detectors, decides first; only what passes it
goes to detect-secrets, imported on first use. A property test holds the condition to
detect-secrets' own verdict.
"""

from __future__ import annotations

import json
import math
import re
import threading
from functools import lru_cache
from typing import Any

# names that say "secret": their values are refused in deploy files and masked in output
# (not the shell's PWD, the working directory, which every process has)
SECRET_NAME = re.compile(
    r"^(?!PWD$)(.*_)?(PASSWORD|PASSWD|PASS|PASSPHRASE|PWD|SECRET|SECRET_KEY|TOKEN|API_KEY|APIKEY|PRIVATE_KEY"
    r"|ACCESS_KEY|CREDENTIALS?)$",
    re.IGNORECASE,
)
PASSWORD_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")

# detect-secrets' keyword, provider-specific and high-entropy detectors; not IPPublicDetector:
# a public address in a service's settings is configuration, not a credential
DETECTORS: tuple[dict[str, Any], ...] = (
    *(
        {"name": name}
        for name in (
            "KeywordDetector",
            "ArtifactoryDetector",
            "AWSKeyDetector",
            "AzureStorageKeyDetector",
            "BasicAuthDetector",
            "CloudantDetector",
            "DiscordBotTokenDetector",
            "GitHubTokenDetector",
            "GitLabTokenDetector",
            "IbmCloudIamDetector",
            "IbmCosHmacDetector",
            "JwtTokenDetector",
            "MailchimpDetector",
            "NpmDetector",
            "OpenAIDetector",
            "PrivateKeyDetector",
            "PypiTokenDetector",
            "SendGridDetector",
            "SlackDetector",
            "SoftlayerDetector",
            "SquareOAuthDetector",
            "StripeDetector",
            "TelegramBotTokenDetector",
            "TwilioKeyDetector",
        )
    ),
    {"name": "Base64HighEntropyString", "limit": 4.5},
    {"name": "HexHighEntropyString", "limit": 3.0},
)
HEX_FINDING = "Hex High Entropy String"

# --- the necessary condition: every detector above needs one of these to match -----------
# keyword-based detectors (KeywordDetector, AWS, Cloudant, IBM, SoftLayer, npm, Azure,
# private keys) all need one of these words, in any case, in the name or the value
_KEYWORD_STEMS = ("key", "pass", "pw", "secret", "token", "contrase", "softlayer", "cloudant")
# the fixed part of every provider-specific pattern that can match a short string (same
# character classes as the detectors: \\d is any Unicode digit there too)
_PROVIDER_ANCHOR = re.compile(
    r"A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA"  # AWS
    r"|AKC|AP[\dA-F]"  # Artifactory
    r"|[MNO][a-zA-Z\d_-]{23,25}\."  # Discord
    r"|gh[pousr]_"  # GitHub
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941"  # GitLab
    r"|eyJ"  # JSON Web Token
    r"|-us[0-9]"  # Mailchimp
    r"|T3BlbkFJ"  # OpenAI
    r"|pypi-"  # PyPI
    r"|SG\."  # SendGrid
    r"|sq0csp-"  # Square
    r"|k_live_"  # Stripe
    r"|\d{8}:"  # Telegram
    r"|(?:AC|SK)[a-z0-9]{32}"  # Twilio
)
_SLACK = re.compile(r"xox|hooks\.slack\.com", re.IGNORECASE)  # the Slack detector ignores case
_QUOTES = frozenset("\"'`\\")
_HEX = frozenset("0123456789abcdefABCDEF")  # detect-secrets' charsets, without importing `string`
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/\\-_=")
_GIT_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MARGIN = 1e-9  # entropy summed in another order may differ in the last bits
_LOCK = threading.Lock()


def _entropy(text: str) -> float:
    """Shannon entropy in bits per character, as detect-secrets computes it."""
    return -sum(text.count(c) / len(text) * math.log2(text.count(c) / len(text)) for c in set(text))


def _hex_entropy(text: str) -> float:
    """detect-secrets lowers the entropy of all-digit strings, which are rarely secrets."""
    entropy = _entropy(text)
    return entropy - 1.2 / math.log2(len(text)) if text.isdigit() and len(text) > 1 else entropy


def _quoted(value: str) -> str:
    """The value as the YAML line detect-secrets is shown writes it: a JSON string."""
    return json.dumps(value, ensure_ascii=False)


def could_be_secret(name: str, value: str) -> bool:
    """False only when no detector of DETECTORS can find a secret in `name: "value"`."""
    inner = _quoted(value)[1:-1]
    line = f"{name}: {inner}"
    folded = line.casefold()
    if any(stem in folded for stem in _KEYWORD_STEMS):
        return True
    if ("://" in line and "@" in line) or _PROVIDER_ANCHOR.search(line) or _SLACK.search(line):
        return True
    if _QUOTES & set(line):
        return True  # quotes or escapes inside: detect-secrets' quoted-string search sees other parts
    if len(inner) < 2:
        return False
    if set(inner) <= _HEX and _hex_entropy(inner) > 3.0 - _MARGIN:
        return True
    return set(inner) <= _BASE64 and _entropy(inner) > 4.5 - _MARGIN


@lru_cache(maxsize=4096)  # a fleet repeats the same few values (LOG_LEVEL: info) in every environment
def secret_kind(name: str, value: str) -> str | None:
    """What kind of secret `value` (written under `name`) looks like, or None."""
    if PASSWORD_IN_URL.search(value):
        return "a URL with a password in it"
    if not could_be_secret(name, value):
        return None
    return detected_kind(name, value)


@lru_cache(maxsize=1024)
def detected_kind(name: str, value: str) -> str | None:
    """detect-secrets' verdict on the YAML line `name: "value"`: the first finding's type.

    Its settings are global state: they are set for this scan only (transient settings, under
    a lock), so a host program's settings stay as they were and online verification, which
    would need the network, is never on. Its false-positive filters for a secret apply; its
    filters for whole files and the in-file allow-list comment do not (skytrain decides where
    that comment counts: skytrain.config.checks). A git object id (GIT_COMMIT is a build
    variable) is not a hex secret."""
    from detect_secrets.settings import get_filters, get_plugins, transient_settings
    from detect_secrets.util.inject import call_function_with_arguments

    line = f"{name}: {_quoted(value)}"
    with _LOCK, transient_settings({"plugins_used": list(DETECTORS)}):
        filters = [
            f
            for f in get_filters()
            if "secret" in f.injectable_variables and f.injectable_variables <= {"secret", "plugin", "line"}
        ]
        for plugin in get_plugins():
            for found in plugin.analyze_line(filename="deploy.yml", line=line, line_number=1):
                secret = found.secret_value or ""
                if found.type == HEX_FINDING and _GIT_OBJECT_ID.fullmatch(secret):
                    continue
                given = {"secret": secret, "plugin": plugin, "line": line}
                if not any(call_function_with_arguments(f, **given) for f in filters):
                    return str(found.type)
    return None
