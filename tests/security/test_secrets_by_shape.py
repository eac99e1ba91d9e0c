"""Secrets written into deploy files are refused by their name and by their shape (Yelp's
detect-secrets), at their file:line:col, exit 2, without printing them; ordinary values
pass; a known false positive is marked with detect-secrets' own comment, which a template's
result can never use. A URL's credentials are masked in every message."""

from __future__ import annotations

import pytest

from tests.security.sandbox_helpers import (
    A_CI_SECRET,
    BASE,
    BASE_FILE,
    ENVIRONMENTS,
    VALUE_SPOT,
    env_file,
    run_here,
    write_service,
)

SENDGRID = "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"
GITHUB = "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"
AWS = "AKIAIOSFODNN7EXAMPLE"
BASE64_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SHAPE = (
    "this value looks like a secret ({kind}, as detect-secrets sees it); secrets never go in these files: "
    "put it in the secret store and reference it under secrets:; if it is not a secret, end its line with "
    "`# pragma: allowlist secret` (a value written as it is, not one filled in by a template)"
)


def by_name(name: str) -> str:
    return (
        f"{name} looks like a secret written inline; secrets never go in these files. Put the value in the secret "
        f"store and reference it: secrets: {{{name}: {{secret: <name>, key: <key>}}}}"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SMTP_PASS", "hunter2", by_name("SMTP_PASS")),
        ("SENDGRID_KEY", SENDGRID, SHAPE.format(kind="SendGrid API Key")),
        ("GH_PAT", GITHUB, SHAPE.format(kind="GitHub Token")),
        ("AWS_ACCESS_KEY_ID", AWS, SHAPE.format(kind="AWS Access Key")),
        ("SIGNING", BASE64_KEY, SHAPE.format(kind="Base64 High Entropy String")),
        ("HMAC", "5ebe2294ecd0e0f08eab7690d2a6ee69", SHAPE.format(kind="Hex High Entropy String")),
        (
            "SLACK_HOOK",
            "https://hooks.slack.com/services/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",
            SHAPE.format(kind="Slack Token"),
        ),
        ("TLS", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA", SHAPE.format(kind="Private Key")),
        (
            "DATABASE_URL",
            "postgres://giphy:hunter2@db/giphy",
            "this URL has a password in it; move the credentials to a secret and reference it under secrets:",
        ),
    ],
    ids=lambda v: v if len(v) < 20 else v[:12],
)
def test_a_secret_in_an_env_value_is_refused_without_printing_it(
    tmp_path, monkeypatch, capsys, name, value, expected
):
    write_service(tmp_path, env_file({name: value}))
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused([f"{BASE_FILE}:6:{len(name) + 5}: error: env.{name}: {expected}"], value.splitlines()[-1])


def test_the_escape_hatches_env_is_checked_too(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, BASE + f"marathon:\n  env:\n    GH_PAT: {GITHUB}\n")
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused(
        [f"{BASE_FILE}:7:13: error: marathon.env.GH_PAT: {SHAPE.format(kind='GitHub Token')}"], GITHUB
    )


ORDINARY = {
    "IMAGE": "registry.example.com/giphy:1.4.2-rc.1",
    "DIGEST": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "UPSTREAM": "http://organization.default.svc.cluster.local:8080/",
    "REDIS_URL": "redis://cache:6379/0",
    "COMMIT": "3f786850e387550fdab836ed7e6dc881de23001b",
    "BUILT_FROM": "{{ GIT_COMMIT }}",
    "TAG": "{{ BUILD_TAG }}",
    "REQUEST_ID": "123e4567-e89b-12d3-a456-426614174000",
    "JAVA_OPTS": "-Xmx512m -Dfile.encoding=UTF-8",
    "CACHE_KEY_PREFIX": "giphy:v2:",
    "LOG_LEVEL": "info",
    "PUBLIC_ADDRESS": "203.0.113.7",
    "TOKEN_TTL_SECONDS": "3600",
    "FEATURES": "search,trending,upload",
}


def test_ordinary_values_pass(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, env_file(ORDINARY))
    result = run_here(
        tmp_path,
        *("render", "svc", "--env", "staging"),
        monkeypatch=monkeypatch,
        capsys=capsys,
        GIT_COMMIT="3f786850e387550fdab836ed7e6dc881de23001b",
        BUILD_TAG="jenkins-giphy-main-42",
    )
    assert result.code == 0, result.stderr
    assert '"TAG": "jenkins-giphy-main-42"' in result.stdout


@pytest.mark.parametrize(
    "lines",
    [
        f"  SIGNING: {BASE64_KEY}  # pragma: allowlist secret\n",
        f"  # pragma: allowlist nextline secret\n  SIGNING: {BASE64_KEY}\n",
    ],
    ids=["same line", "line above"],
)
def test_detect_secrets_comment_marks_a_known_false_positive(tmp_path, monkeypatch, capsys, lines):
    write_service(tmp_path, BASE + "env:\n" + lines)
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    assert result.code == 0, result.stderr


def test_the_comment_does_not_excuse_a_secrets_name(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, BASE + "env:\n  SMTP_PASS: hunter2  # pragma: allowlist secret\n")
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused([f"{BASE_FILE}:6:14: error: env.SMTP_PASS: {by_name('SMTP_PASS')}"], "hunter2")


def test_the_comment_never_waves_through_what_a_template_fills_in(tmp_path, monkeypatch, capsys):
    """A variable's value comes from the CI; the file's author must not be able to mark it as
    harmless and have it rendered into the pull request's diff."""
    write_service(tmp_path, BASE + 'env:\n  SIGNING: "{{ SIGNING }}"  # pragma: allowlist secret\n')
    result = run_here(
        tmp_path,
        *("validate", "svc", "--set", f"SIGNING={BASE64_KEY}"),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    sentence = (
        "the value of SIGNING looks like a secret (Base64 High Entropy String), so no template renders it; "
        "secrets are referenced under secrets:, never filled in"
    )
    result.refused([f"{BASE_FILE}:6:12: error: env.SIGNING: {sentence}"], BASE64_KEY)


def test_the_comment_covers_its_own_line_only(tmp_path, monkeypatch, capsys):
    """The base marks its value; an overlay that sets another one without the comment is refused."""
    write_service(
        tmp_path,
        BASE + f"env:\n  SIGNING: {BASE64_KEY}  # pragma: allowlist secret\n",
        overlay=f"env:\n  SIGNING: {BASE64_KEY[::-1]}\n",
    )
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused(
        [
            f"svc/deploy/staging.yml:2:12: error: env.SIGNING: {SHAPE.format(kind='Base64 High Entropy String')}"
        ]
    )


def test_the_environments_files_url_credentials_are_masked(tmp_path, monkeypatch, capsys):
    environments = ENVIRONMENTS.replace("http://marathon", "http://deployer:hunter2@marathon")
    write_service(tmp_path, BASE, environments=environments)
    result = run_here(
        tmp_path, "validate", "svc", "--junit", "report.xml", monkeypatch=monkeypatch, capsys=capsys
    )
    result.refused(
        [
            "environments.yml:3:21: error: environments.staging.marathon.url: a Marathon URL is "
            "http(s)://host[:port][/path] with no user:password@ in it (credentials come from "
            "MARATHON_USER/MARATHON_PASSWORD or MARATHON_TOKEN); got "
            '"http://deployer:****@marathon.staging.example.com:8080"'
        ],
        "hunter2",
    )
    assert "hunter2" not in (tmp_path / "report.xml").read_text()


def test_a_value_shaped_like_a_secret_is_not_echoed_by_a_schema_error(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, BASE + f"replicas: {GITHUB}\n")
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys)
    result.refused(
        [
            f"{BASE_FILE}:5:11: error: replicas: expected a whole number, got a value that looks like a secret "
            "(not shown)"
        ],
        GITHUB,
    )


def test_a_ci_secret_in_a_usage_message_is_masked(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, BASE)
    result = run_here(
        tmp_path,
        "diff",
        "svc",
        "--env",
        "staging",
        "--against",
        A_CI_SECRET,
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    result.refused(["skytrain: error: --against **** needs svc to be inside a git repository"])


def test_a_variable_with_a_secrets_value_is_refused_on_the_fast_path_too(tmp_path, monkeypatch, capsys):
    write_service(tmp_path, env_file({"X": "{{ BUILD_TAG | default('latest') }}"}))
    result = run_here(tmp_path, "validate", "svc", monkeypatch=monkeypatch, capsys=capsys, BUILD_TAG=AWS)
    result.refused(
        [
            VALUE_SPOT
            + "the value of BUILD_TAG looks like a secret (AWS Access Key), so no template renders it; "
            "secrets are referenced under secrets:, never filled in"
        ],
        AWS,
    )
