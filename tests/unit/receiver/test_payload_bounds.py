"""Bounds on the webhook payload (issue 9, finding 6): names, values and counts are limited by settings and
refused with the field named; JSON nested without end is a 400, never a RecursionError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from receiver.errors import InvalidPayload
from receiver.payload import MAX_JSON_DEPTH, alertmanager_payload, parse_webhook
from tests.support.pipeline import crash_alert
from workers.settings import LimitSettings

LIMITS = LimitSettings(
    max_label_name_chars=32,
    max_label_value_chars=100,
    max_annotation_value_chars=4096,
    max_labels_per_alert=8,
    max_annotations_per_alert=4,
)


def body(count: int = 5) -> dict[str, Any]:
    return alertmanager_payload([crash_alert(f"pod-{i}", fingerprint=f"fp-{i}") for i in range(count)])


def refused(data: dict[str, Any] | bytes, limits: LimitSettings = LIMITS) -> InvalidPayload:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(raw, max_alerts=100, limits=limits)
    return caught.value


@pytest.mark.parametrize(
    ("mutate", "field", "detail"),
    [
        (
            lambda b: b["alerts"][3]["annotations"].update(description="x" * 4097),
            "alerts[3].annotations.description",
            "longer than 4096 characters",
        ),
        (
            lambda b: b["alerts"][1]["labels"].update(team="y" * 101),
            "alerts[1].labels.team",
            "longer than 100 characters",
        ),
        (
            lambda b: b["alerts"][0]["labels"].update({"n" * 33: "v"}),
            "alerts[0].labels." + "n" * 33,
            "name longer than 32 characters",
        ),
        (
            lambda b: b["alerts"][2]["labels"].update({f"l{i}": "v" for i in range(8)}),
            "alerts[2].labels",
            "more than the limit of 8 entries",
        ),
        (
            lambda b: b["alerts"][4].update(annotations={f"a{i}": "v" for i in range(5)}),
            "alerts[4].annotations",
            "more than the limit of 4 entries",
        ),
        (
            lambda b: b["alerts"][0].update(generatorURL="h" * 4097),
            "alerts[0].generatorURL",
            "longer than 4096",
        ),
        (lambda b: b["alerts"][0].update(fingerprint="f" * 101), "alerts[0].fingerprint", "longer than 100"),
        (lambda b: b.update(commonLabels={f"c{i}": "v" for i in range(9)}), "commonLabels", "limit of 8"),
        (lambda b: b["commonAnnotations"].update(summary="s" * 4097), "commonAnnotations.summary", "4096"),
    ],
)
def test_oversized_names_values_and_counts_are_named(mutate, field: str, detail: str) -> None:
    data = body()
    mutate(data)
    error = refused(data)
    assert error.extra["field"] == field
    assert error.detail.startswith(f"{field}: ") and detail in error.detail


def test_values_at_the_limits_pass() -> None:
    data = body()
    data["alerts"][3]["annotations"] = {f"a{i}": "x" * 4096 for i in range(4)}
    data["alerts"][3]["labels"].update(
        {f"l{i}": "y" * 100 for i in range(8 - len(data["alerts"][3]["labels"]))}
    )
    parsed = parse_webhook(json.dumps(data).encode(), max_alerts=100, limits=LIMITS)
    assert parsed.alerts[3].annotations["a0"] == "x" * 4096
    assert len(parsed.alerts[3].labels) == 8


def test_defaults_refuse_the_900_kb_annotation_of_the_review() -> None:
    data = body(1)
    data["alerts"][0]["annotations"]["description"] = "z" * 900_000
    error = refused(data, LimitSettings())
    assert error.detail == "alerts[0].annotations.description: longer than 16384 characters"
    defaults = LimitSettings()
    assert (defaults.max_label_value_chars, defaults.max_annotation_value_chars) == (1024, 16384)
    assert (defaults.max_labels_per_alert, defaults.max_annotations_per_alert) == (64, 64)


def test_a_huge_name_is_not_echoed_back() -> None:
    data = body(1)
    data["alerts"][0]["labels"]["k" * 100_000] = "v"
    error = refused(data)
    assert error.detail.endswith("name longer than 32 characters")
    assert len(error.detail) < 200


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"version": "4", "alerts": [], "extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"version": "4", "alerts": [{"labels": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}]}",
        b'{"version": "4", "alerts": [], "extra": ' + b"[" * 100_000,  # never closed
    ],
)
def test_deep_nesting_is_a_clear_refusal(raw: bytes) -> None:
    error = refused(raw)
    assert error.detail == f"body is nested deeper than {MAX_JSON_DEPTH} levels"


def test_nesting_within_the_limit_is_fine() -> None:
    data = body(1)
    nested: Any = []
    for _ in range(MAX_JSON_DEPTH - 5):
        nested = [nested]
    data["extra"] = nested
    assert parse_webhook(json.dumps(data).encode(), max_alerts=10).alerts[0].labels["alertname"]


def test_too_many_alerts_are_refused_by_the_same_pass() -> None:
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(json.dumps(body(5)).encode(), max_alerts=3, limits=LIMITS)
    assert caught.value.extra["field"] == "alerts"
    assert caught.value.detail == "alerts: more than the limit of 3 alerts"
