"""Secret-looking values are redacted from text and structures before anything is sent to an adviser."""

from __future__ import annotations

import pytest

from workers.integrations.advisers.redaction import REDACTED, is_secret_name, redact, redact_value

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.dGhpcy1pcy1hLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdef0123456789token", "abcdef0123456789token"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' http://x", "dXNlcjpwYXNz"),
        ("sending bearer zyxwvut987654321", "zyxwvut987654321"),
        ("password=hunter2", "hunter2"),
        ("DB_PASSWD: 's3cr3t!'", "s3cr3t!"),
        ('{"client_secret": "abc123xyz"}', "abc123xyz"),
        ("--token=tok-42-abc", "tok-42-abc"),
        ("api_key = 'AIzaSyExample'", "AIzaSyExample"),
        ("X-Api-Key: k-1234567", "k-1234567"),
        ("aws_access_key_id=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("key AKIAIOSFODNN7EXAMPLE in the log", "AKIAIOSFODNN7EXAMPLE"),
        ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        (f"cookie {JWT} seen", JWT),
        ("postgres://app:pa55word@db:5432/x", "pa55word"),
        ("https://user:tok3n@github.com/org/repo.git", "tok3n"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 leaked", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("tls.crt: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2sxSlNVUkNWRU5E", "TFMwdExTMUNSVWRK"),
    ],
)
def test_secrets_in_text_are_redacted(text: str, secret: str) -> None:
    redacted = redact(text)
    assert secret not in redacted
    assert REDACTED in redacted


def test_private_key_blocks_are_redacted_whole() -> None:
    text = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter"
    redacted = redact(text)
    assert "MIIEow" not in redacted and "IBAAKCAQEA" not in redacted
    assert redacted.startswith("before\n[REDACTED PRIVATE KEY]") and redacted.endswith("after")


def test_a_private_key_cut_off_by_a_log_tail_is_still_redacted() -> None:
    redacted = redact("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC")
    assert "MIIEvQ" not in redacted and "hkiG9w0" not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "secretName: db-creds",
        'secret "db-creds" not found',
        "CreateContainerConfigError: couldn't find key password in Secret shop/db",
        "image shop/app@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
        "/var/lib/kubelet/pods/3f2a1b7c-1111-2222-3333-444455556666/volumes/kubernetes.io~projected",
        "java.lang.OutOfMemoryError: Java heap space",
        "the token expired at 10:00",
        "tokenRef: vault-token",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact(f"password=hunter2 Authorization: Bearer abcdefghijkl {JWT}")
    assert redact(once) == once


def test_secret_objects_lose_their_data() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{..}"},
        },
        "data": {"password": "aHVudGVyMg==", "user": "YXBw"},
        "stringData": {"token": "plain"},
    }
    redacted = redact_value(secret)
    assert redacted["data"] == {"password": REDACTED, "user": REDACTED}
    assert redacted["stringData"] == {"token": REDACTED}
    assert redacted["metadata"]["name"] == "db"
    assert redacted["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == REDACTED
    assert secret["data"]["user"] == "YXBw"  # the input is not changed


def test_every_env_value_is_hidden_and_references_are_kept() -> None:
    env = [
        {"name": "DB_PASSWORD", "value": "hunter2"},
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
    ]
    redacted = redact_value({"env": env})["env"]
    assert redacted[0] == {"name": "DB_PASSWORD", "value": REDACTED}
    assert redacted[1] == {"name": "LOG_LEVEL", "value": REDACTED}  # env values are where secrets go
    assert redacted[2]["valueFrom"] == {"secretKeyRef": {"name": "api", "key": "token"}}


def test_keys_named_like_secrets_lose_their_string_values() -> None:
    redacted = redact_value(
        {"apiKey": "abc", "token_file": "/var/run/token", "nested": [{"password": "x"}], "n": 3}
    )
    assert redacted == {
        "apiKey": REDACTED,
        "token_file": "/var/run/token",
        "nested": [{"password": REDACTED}],
        "n": 3,
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("client_secret", True),
        ("secretName", False),
        ("secretKeyRef", False),
        ("token_file", False),
        ("LOG_LEVEL", False),
        ("serviceAccountToken", True),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret
