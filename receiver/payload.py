"""The Alertmanager webhook payload (version 4), validated and normalised to the alert dicts jobs use."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from receiver.errors import InvalidPayload

ZERO_TIME = "0001-01-01T00:00:00Z"


def _check_time(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an RFC 3339 time: {value!r}") from exc
    return value


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str | None = None
    generatorURL: str = ""
    fingerprint: str | None = None

    @field_validator("labels")
    @classmethod
    def _needs_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels.alertname is required")
        return labels

    @field_validator("startsAt")
    @classmethod
    def _starts(cls, value: str) -> str:
        checked = _check_time(value)
        if checked is None:
            raise ValueError("startsAt is required")
        return checked

    @field_validator("endsAt")
    @classmethod
    def _ends(cls, value: str | None) -> str | None:
        return _check_time(value)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    status: Literal["firing", "resolved"] | None = None
    receiver: str | None = None
    groupKey: str | None = None
    truncatedAlerts: int = Field(0, ge=0)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str | None = None
    notification_reason: str | None = None
    routeLabels: dict[str, str] | None = None
    alerts: list[AlertIn]


def alertmanager_payload(alerts: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """An Alertmanager webhook body (version 4) around ``alerts``, as Alertmanager sends it.

    For the demo, benchmarks and tests; ``fields`` overrides the envelope (e.g. ``commonLabels``).
    """
    alertnames = sorted({alert.get("labels", {}).get("alertname", "") for alert in alerts} - {""})
    grouped = {"alertname": alertnames[0]} if len(alertnames) == 1 else {}
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in grouped.items()) + "}",
        "truncatedAlerts": 0,
        "status": "firing" if any(alert.get("status") == "firing" for alert in alerts) else "resolved",
        "receiver": "aiops",
        "groupLabels": grouped,
        "commonLabels": grouped,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.local",
        "alerts": alerts,
    }
    body.update(fields)
    return body


def _field_path(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def parse_webhook(body: bytes, max_alerts: int) -> WebhookIn:
    """Parse and validate ``body``; raises ``InvalidPayload`` naming the first bad field."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(f"body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("body must be a JSON object", field="")
    try:
        payload = WebhookIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _field_path(first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidPayload(f"{where}: {message}", field=where) from exc
    if len(payload.alerts) > max_alerts:
        raise InvalidPayload(
            f"alerts: {len(payload.alerts)} alerts, more than the limit of {max_alerts}", field="alerts"
        )
    return payload


def label_fingerprint(labels: dict[str, str]) -> str:
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def normalise(alert: AlertIn, received_at: str, source: str = "alertmanager") -> dict[str, Any]:
    ends = alert.endsAt if alert.endsAt and not alert.endsAt.startswith("0001-01-01") else None
    return {
        "status": alert.status,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": alert.startsAt,
        "endsAt": ends,
        "generatorURL": alert.generatorURL,
        "fingerprint": alert.fingerprint or label_fingerprint(alert.labels),
        "source": source,
        "receivedAt": received_at,
    }
