"""The redaction engine against real-world secret shapes, in the four places they reach us: an env value
of a pod template, a line of a previous log, an alert annotation and an adviser's answer.

The end-to-end counterpart (the same shapes through the whole pipeline, checked in the proposal, the
record, the log lines and Redis) is tests/integration/pipeline/test_secrets_stored.py.
"""

from __future__ import annotations

import json

import pytest

from tests.support.secret_shapes import CLEAN, SHAPES, Shape
from workers.redaction import (
    REDACTED,
    TRUNCATED,
    bounded,
    contains_redaction,
    is_secret_name,
    redact,
    redact_value,
)
from workers.spine.intake import stored_alert

LIMIT = 4096
IDS = [shape.id for shape in SHAPES]


def test_the_table_has_at_least_forty_shapes() -> None:
    assert len(SHAPES) >= 40 and len(set(IDS)) == len(IDS)


def _template(value: str) -> dict:
    return {
        "metadata": {"labels": {"app": "checkout"}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.example.com/shop/checkout:1.5.0",
                    "env": [
                        {"name": "APP_SETTING", "value": value},
                        {
                            "name": "DB_URL",
                            "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "db_url"}},
                        },
                    ],
                }
            ]
        },
    }


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_env_value_in_a_pod_template(shape: Shape) -> None:
    redacted = redact_value(_template(shape.line))
    assert shape.secret not in json.dumps(redacted)
    env = redacted["spec"]["containers"][0]["env"]
    assert env[0] == {"name": "APP_SETTING", "value": REDACTED}
    assert env[1]["valueFrom"] == {"configMapKeyRef": {"name": "cfg", "key": "db_url"}}  # refs are kept
    assert redacted["spec"]["containers"][0]["image"] == "registry.example.com/shop/checkout:1.5.0"


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_previous_log_line(shape: Shape) -> None:
    log = f"2026-11-25T10:00:01Z INFO starting\n{shape.line}\n2026-11-25T10:00:02Z INFO shutting down"
    redacted = redact(log)
    assert shape.secret not in redacted
    assert "[REDACTED" in redacted
    assert redacted.startswith("2026-11-25T10:00:01Z INFO starting\n")
    assert redacted.endswith("INFO shutting down")
    assert redact(redacted) == redacted


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_alert_annotation_as_stored(shape: Shape) -> None:
    alert = {
        "fingerprint": "f00d",
        "status": "firing",
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop"},
        "annotations": {"description": shape.line, "summary": "shop/checkout is crash looping"},
    }
    kept = stored_alert(alert, LIMIT)
    assert shape.secret not in json.dumps(kept)
    assert kept["labels"] == alert["labels"]
    assert kept["annotations"]["summary"] == "shop/checkout is crash looping"
    assert alert["annotations"]["description"] == shape.line  # the input is not changed


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_adviser_answer(shape: Shape) -> None:
    answer = (
        "The container reads its credentials at start-up; I found this in its log:\n\n"
        f"    {shape.line}\n\n"
        "1. Rotate the credential\n2. `kubectl rollout restart deployment/checkout -n shop`"
    )
    redacted = redact(answer)
    assert shape.secret not in redacted
    assert "kubectl rollout restart deployment/checkout -n shop" in redacted


@pytest.mark.parametrize("line", CLEAN)
def test_clean_lines_survive_every_place(line: str) -> None:
    assert redact(line) == line
    alert = {"labels": {}, "annotations": {"description": line}}
    assert stored_alert(alert, LIMIT)["annotations"]["description"] == line


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DB_PASS", True),
        ("MYSQL_ROOT_PASS", True),
        ("DB_PW", True),
        ("passphrase", True),
        ("PGPASSWORD", True),
        ("MYSQL_PWD", True),
        ("REDISCLI_AUTH", True),
        ("AccountKey", True),
        ("sig", True),
        ("_authToken", True),
        ("SENTRY_DSN", True),
        ("Authorization", True),
        ("X-Amz-Signature", True),
        ("session_id", True),
        ("bypass", False),
        ("compass", False),
        ("passed", False),
        ("key", False),
        ("secretKeyRef", False),
        ("password_file", False),
        ("password-stdin", False),
        ("max_tokens", False),
        ("token_type", False),
        ("existingSecret", False),
        ("signal", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_an_env_entry_named_db_pass_loses_its_value() -> None:
    env = [{"name": "DB_PASS", "value": "hunter2"}, {"name": "LOG_LEVEL", "value": "debug"}]
    assert redact_value({"env": env}) == {
        "env": [{"name": "DB_PASS", "value": REDACTED}, {"name": "LOG_LEVEL", "value": REDACTED}]
    }


def test_secret_flags_in_argument_lists_lose_their_value() -> None:
    args = ["--password", "hunter2", "--host", "db", "--token=abc123", "--verbose"]
    assert redact_value({"args": args}) == {
        "args": ["--password", REDACTED, "--host", "db", f"--token={REDACTED}", "--verbose"]
    }


def test_secret_headers_of_probes_lose_their_value() -> None:
    probe = {
        "httpGet": {
            "path": "/healthz",
            "httpHeaders": [
                {"name": "Authorization", "value": "Bearer zzQ7vT2kL9mX4pR8"},
                {"name": "Accept", "value": "application/json"},
            ],
        }
    }
    headers = redact_value(probe)["httpGet"]["httpHeaders"]
    assert headers == [
        {"name": "Authorization", "value": REDACTED},
        {"name": "Accept", "value": "application/json"},
    ]


def test_last_applied_configuration_is_redacted_as_the_object_it_holds() -> None:
    applied = json.dumps(
        {
            "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"env": [{"name": "A", "value": "x1"}]}]}}},
        }
    )
    meta = {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}}
    kept = redact_value(meta)["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert "x1" not in kept
    assert json.loads(kept)["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "A",
        "value": REDACTED,
    }


def test_structures_are_redacted_idempotently() -> None:
    doc = {"shapes": [shape.line for shape in SHAPES], "template": _template("hunter2")}
    once = redact_value(doc)
    assert redact_value(once) == once
    assert contains_redaction(once) and not contains_redaction({"a": ["b", {"c": 1}]})


def test_long_text_is_cut_with_a_marker_and_still_redacted() -> None:
    text = "password=hunter2 " + "x" * 10_000
    kept = bounded(text, 100)
    assert kept.startswith(f"password={REDACTED} ")
    assert kept.endswith(TRUNCATED.format(count=len(text) - 100))
    assert len(kept) == 100 + len(TRUNCATED.format(count=len(text) - 100))
    assert bounded("short", 100) == "short"


def test_a_secret_straddling_the_cut_is_still_redacted() -> None:
    text = "x" * 95 + " Authorization: Bearer zzQ7vT2kL9mX4pR8 " + "y" * 1000
    kept = bounded(text, 110)
    assert "zzQ7vT2" not in kept and "[truncated" in kept


def test_stored_alert_hides_values_of_labels_and_annotations_named_like_secrets() -> None:
    alert = {
        "labels": {"alertname": "X", "db_pass": "tangerine77", "token_type": "bearer"},
        "annotations": {"auth_token": "plain-value-7", "runbook_url": "https://runbooks.example.com/x"},
    }
    kept = stored_alert(alert, LIMIT)
    assert kept["labels"] == {"alertname": "X", "db_pass": REDACTED, "token_type": "bearer"}
    assert kept["annotations"] == {"auth_token": REDACTED, "runbook_url": "https://runbooks.example.com/x"}


def test_a_query_string_ends_a_value_but_an_ampersand_inside_a_password_does_not() -> None:
    assert redact("GET /cb?access_token=at9Kq2&state=ok") == f"GET /cb?access_token={REDACTED}&state=ok"
    assert redact("Uid=app;Pwd=Tr0ub4dor&3x;Server=db") == f"Uid=app;Pwd={REDACTED};Server=db"


def test_stored_alert_truncates_labels_annotations_and_generator_url() -> None:
    alert = {
        "fingerprint": "abc",
        "labels": {"alertname": "X", "big": "L" * 5000},
        "annotations": {"description": "D" * 9000},
        "generatorURL": "http://prometheus/graph?g0.expr=" + "u" * 6000,
    }
    kept = stored_alert(alert, 1000)
    assert kept["labels"]["alertname"] == "X"
    assert kept["labels"]["big"] == "L" * 1000 + "…[truncated 4000 chars]"
    assert kept["annotations"]["description"] == "D" * 1000 + "…[truncated 8000 chars]"
    assert kept["generatorURL"].endswith("…[truncated 5032 chars]")
    assert kept["fingerprint"] == "abc"


def test_text_without_any_pattern_trigger_takes_the_fast_path_with_the_same_result() -> None:
    """Pod, namespace and alert names and plain summaries skip the patterns whose trigger they lack; the
    result is the same as the sixteen substitutions would give, secrets included."""
    from workers.redaction import _MAYBE_SECRET, _redact_full, _redact_text

    texts = [
        "checkout-7d9f8b6c5-x2k4p",
        "KubePodCrashLooping",
        "Pod shop/checkout-7d9f8b6c5-x2k4p (app) is in CrashLoopBackOff.",
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5 leaked in a note",
        "xoxb-1234567890-abcdefghij",
        "sk-abcdefghijklmnopqrstuvwx",
        *[shape.line for shape in SHAPES],
        *CLEAN,
    ]
    fast = [text for text in texts if not _MAYBE_SECRET.search(text)]
    assert len(fast) >= 4  # the fast path is taken
    assert any(_redact_full(text) != text for text in fast)  # and a vendor token on it is still found
    for text in texts:
        assert _redact_text(text) == _redact_full(text), text
