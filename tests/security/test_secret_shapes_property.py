"""`could_be_secret` lets skytrain skip importing detect-secrets for ordinary values. It may
say yes too often (detect-secrets then decides), never too rarely: whatever detect-secrets
finds, it must have let through. Held on real tokens of every provider enabled and on
generated values mixing the alphabets and fixed parts the detectors look for."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from skytrain.secret_shapes import DETECTORS, could_be_secret, detected_kind, secret_kind

# one value each detector finds (made up; the shapes are the providers')
FOUND = {
    "AWSKeyDetector": ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
    "ArtifactoryDetector": ("ARTIFACTORY", "AKCp8jQ8tx3Jw9ZxQW4ueLk2e"),
    "AzureStorageKeyDetector": ("AZURE", "AccountKey=" + "a" * 20 + "Zx9+/" * 13 + "q=="),
    "BasicAuthDetector": ("UPSTREAM", "https://deployer:s3cr3t@example.com/"),
    "CloudantDetector": ("CLOUDANT_URL", "https://acct:" + "0123456789abcdef" * 4 + "@acct.cloudant.com"),
    "DiscordBotTokenDetector": ("DISCORD", "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
    "GitHubTokenDetector": ("GH", "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"),
    "GitLabTokenDetector": ("GL", "glpat-x8Qz7vR2mT4kP9sW1nYb"),
    "IbmCloudIamDetector": ("IBM_CLOUD_IAM_KEY", "abcdefghijABCDEFGHIJ0123456789_-abcdefghijkl"),
    "IbmCosHmacDetector": ("COS_SECRET_ACCESS_KEY", "0123456789abcdef" * 3),
    "JwtTokenDetector": ("SESSION", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"),
    "MailchimpDetector": ("MAILCHIMP", "0123456789abcdef0123456789abcdef-us12"),
    "NpmDetector": ("NPMRC", "//registry.npmjs.org/:_authToken=npm_abcdefghij0123456789"),
    "OpenAIDetector": ("OPENAI", "sk-" + "Ab1" * 7 + "T3BlbkFJ" + "Cd2" * 7),
    "PrivateKeyDetector": ("TLS", "-----BEGIN PRIVATE KEY-----"),
    "PypiTokenDetector": ("PYPI", "pypi-AgEIcHlwaS5vcmc" + "Zx9_" * 20),
    "SendGridDetector": ("MAIL", "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"),
    "SlackDetector": ("SLACK", "xoxb-123456789012-abcdefghijkl"),
    "SoftlayerDetector": ("SOFTLAYER_API_KEY", "abcdefghij0123456789" * 3 + "abcd"),
    "SquareOAuthDetector": ("SQUARE", "sq0csp-" + "Ab1-" * 10 + "xyz"),
    "StripeDetector": ("STRIPE", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
    "TelegramBotTokenDetector": ("TELEGRAM", "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"),
    "TwilioKeyDetector": ("TWILIO", "SK" + "0123456789abcdef0123456789abcdef"),
    "KeywordDetector": ("DB_PASSWORD_HINT", "hunter2"),
    "Base64HighEntropyString": ("SIGNING", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "HexHighEntropyString": ("HMAC", "5ebe2294ecd0e0f08eab7690d2a6ee69"),
}
# what the detectors look for, for generated values to be made of
PIECES = [
    "AKIA",
    "ghp_",
    "SG.",
    "xoxb-",
    "eyJ",
    "://",
    "@",
    ":",
    "-us1",
    "sk_live_",
    "password",
    "Key",
    "secret",
    '"',
    "'",
    "\\",
    "\n",
    "=",
    "pragma",
    "ſ",
    "K",
]
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "+/=_-.:@ ", max_size=60)
MIXED = st.lists(st.one_of(st.sampled_from(PIECES), TEXT, st.text(max_size=8)), max_size=6).map("".join)


def test_every_enabled_detector_has_a_known_find():
    assert sorted(FOUND) == sorted(d["name"] for d in DETECTORS)


def test_each_detector_finds_its_token_and_the_gate_lets_it_through():
    for detector, (name, value) in FOUND.items():
        assert could_be_secret(name, value), detector
        assert detected_kind(name, value) is not None, detector
        assert secret_kind(name, value) is not None, detector


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.sampled_from(["X", "API_KEY", "DB_PASS", "AWS_SECRET", "HOST"]), TEXT), value=MIXED)
def test_the_gate_never_hides_what_detect_secrets_finds(name, value):
    if detected_kind(name, value) is not None:
        assert could_be_secret(name, value)


@settings(max_examples=200, deadline=None)
@given(value=st.text(alphabet=string.ascii_letters + string.digits + "+/=-_", min_size=8, max_size=80))
def test_the_gate_never_hides_a_high_entropy_string(value):
    if detected_kind("X", value) is not None:
        assert could_be_secret("X", value)
