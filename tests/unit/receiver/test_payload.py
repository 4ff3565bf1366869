"""The Alertmanager webhook payload: accepted shapes, normalisation, and errors naming the field."""

from __future__ import annotations

import json

import pytest

from receiver.errors import InvalidPayload
from receiver.payload import normalise, parse_webhook


def payload(**overrides) -> dict:
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="KubePodCrashLooping"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "aiops",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "p-1"},
                "annotations": {"summary": "crash"},
                "startsAt": "2026-11-25T10:00:00.123Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": "abc123",
            }
        ],
    }
    body.update(overrides)
    return body


def test_newer_optional_fields_are_accepted() -> None:
    body = payload(notification_reason="first_notification", routeLabels={"team": "shop"}, truncatedAlerts=2)
    parsed = parse_webhook(json.dumps(body).encode(), max_alerts=10)
    assert parsed.truncatedAlerts == 2 and parsed.routeLabels == {"team": "shop"}


def test_zero_ends_at_means_still_firing() -> None:
    parsed = parse_webhook(json.dumps(payload()).encode(), max_alerts=10)
    alert = normalise(parsed.alerts[0], "2026-11-25T10:00:01Z")
    assert alert["endsAt"] is None
    assert alert["fingerprint"] == "abc123" and alert["source"] == "alertmanager"


def test_missing_fingerprint_is_derived_from_labels_stably() -> None:
    body = payload()
    del body["alerts"][0]["fingerprint"]
    first = normalise(parse_webhook(json.dumps(body).encode(), 10).alerts[0], "now")
    body["alerts"][0]["labels"] = dict(reversed(list(body["alerts"][0]["labels"].items())))
    second = normalise(parse_webhook(json.dumps(body).encode(), 10).alerts[0], "now")
    assert first["fingerprint"] == second["fingerprint"] and len(first["fingerprint"]) == 16


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.pop("alerts"), "alerts"),
        (lambda b: b.update(alerts="nope"), "alerts"),
        (lambda b: b["alerts"][0].update(status="burning"), "alerts[0].status"),
        (lambda b: b["alerts"][0].update(labels={"namespace": "x"}), "alerts[0].labels"),
        (lambda b: b["alerts"][0].update(labels={"alertname": 5}), "alerts[0].labels.alertname"),
        (lambda b: b["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda b: b["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
        (lambda b: b.update(truncatedAlerts=-1), "truncatedAlerts"),
    ],
)
def test_invalid_fields_are_named(mutate, field: str) -> None:
    body = payload()
    mutate(body)
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(json.dumps(body).encode(), max_alerts=10)
    assert caught.value.extra["field"] == field
    assert caught.value.detail.startswith(field)


@pytest.mark.parametrize("raw", [b"{", b"[]", b"\xff\xfe", b"null", b'"text"'])
def test_non_object_bodies_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidPayload):
        parse_webhook(raw, max_alerts=10)


def test_too_many_alerts() -> None:
    body = payload()
    body["alerts"] = body["alerts"] * 3
    with pytest.raises(InvalidPayload, match="more than the limit of 2"):
        parse_webhook(json.dumps(body).encode(), max_alerts=2)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"labels": {"namespace": "shop"}}, "alerts[0].labels", "labels.alertname is required"),
        ({"startsAt": ""}, "alerts[0].startsAt", "startsAt is required"),
        ({"startsAt": "yesterday"}, "alerts[0].startsAt", "not an RFC 3339 time: 'yesterday'"),
        ({"startsAt": "2026-13-01T00:00:00Z"}, "alerts[0].startsAt", "not an RFC 3339 time"),
        ({"endsAt": "soon"}, "alerts[0].endsAt", "not an RFC 3339 time: 'soon'"),
    ],
)
def test_alertname_and_times_are_checked_and_named(change, field, message) -> None:
    body = payload()
    body["alerts"] = [body["alerts"][0], {**body["alerts"][0], **change}]
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(json.dumps(body).encode(), max_alerts=10)
    assert caught.value.extra["field"] == field.replace("[0]", "[1]")
    assert message in str(caught.value)


def test_a_huge_bad_time_is_not_echoed_whole() -> None:
    body = payload()
    body["alerts"][0]["startsAt"] = "x" * 5000
    with pytest.raises(InvalidPayload) as caught:
        parse_webhook(json.dumps(body).encode(), max_alerts=10)
    assert len(str(caught.value)) < 200


def test_nanosecond_times_and_offsets_are_rfc3339() -> None:
    body = payload()
    body["alerts"][0]["startsAt"] = "2026-11-25T10:00:00.123456789+02:00"
    assert parse_webhook(json.dumps(body).encode(), max_alerts=10).alerts[0].startsAt.endswith("+02:00")
