"""The Alertmanager webhook payload (version 4), validated and normalised to the alert dicts jobs use."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)

from receiver.errors import InvalidPayload
from workers.settings import LimitSettings
from workers.spine.alerts import normalised

# pydantic-core's JSON parser refuses deeper nesting itself (a ValidationError, never a RecursionError).
MAX_JSON_DEPTH = 200
_MAX_PATH_PART = 64  # a name quoted in an error message is cut here: the client sent it, it may be huge
_DEFAULT_LIMITS = LimitSettings()


def _time_error(value: str) -> str | None:
    try:
        datetime.fromisoformat(value)  # Python 3.11 reads "Z" and nanoseconds
    except ValueError:
        shown = value if len(value) <= _MAX_PATH_PART else value[:_MAX_PATH_PART] + "…"
        return f"not an RFC 3339 time: {shown!r}"
    return None


def _check_alerts(payload: WebhookIn) -> None:
    """What the schema cannot say: every alert names its alert, and its times are RFC 3339."""
    for index, alert in enumerate(payload.alerts):
        if not alert.labels.get("alertname"):
            where = f"alerts[{index}].labels"
            raise InvalidPayload(f"{where}: labels.alertname is required", field=where)
        problem = _time_error(alert.startsAt) if alert.startsAt else "startsAt is required"
        where = f"alerts[{index}].startsAt"
        if problem is None and alert.endsAt:
            problem, where = _time_error(alert.endsAt), f"alerts[{index}].endsAt"
        if problem is not None:
            raise InvalidPayload(f"{where}: {problem}", field=where)


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str | None = None
    generatorURL: str = ""
    fingerprint: str | None = None

    # alertname and the times are checked after the parse, in one pass (``_check_alerts``): validators
    # called back from pydantic-core per field cost more than the whole parse of a large payload.


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
        if part == "[key]":
            continue  # a dict key's own error: the path already ends with the key
        text = str(part)
        if len(text) > _MAX_PATH_PART:
            text = text[:_MAX_PATH_PART] + "…"
        path += f"[{text}]" if isinstance(part, int) else (f".{text}" if path else text)
    return path


@functools.lru_cache(maxsize=16)
def _bounded_model(
    max_alerts: int,
    name_chars: int,
    label_chars: int,
    annotation_chars: int,
    max_labels: int,
    max_annotations: int,
) -> type[WebhookIn]:
    """``WebhookIn`` with the limits as constraints, so that pydantic-core checks them in its one pass."""
    name = Annotated[str, StringConstraints(max_length=name_chars)]
    label_value = Annotated[str, StringConstraints(max_length=label_chars)]
    annotation_value = Annotated[str, StringConstraints(max_length=annotation_chars)]
    labels = Annotated[dict[name, label_value], Field(max_length=max_labels)]
    annotations = Annotated[dict[name, annotation_value], Field(max_length=max_annotations)]
    alert = create_model(
        "AlertIn",
        __base__=AlertIn,
        labels=(labels, ...),
        annotations=(annotations, Field(default_factory=dict)),
        generatorURL=(annotation_value, ""),
        fingerprint=(label_value | None, None),
    )
    return create_model(
        "WebhookIn",
        __base__=WebhookIn,
        groupLabels=(labels, Field(default_factory=dict)),
        commonLabels=(labels, Field(default_factory=dict)),
        commonAnnotations=(annotations, Field(default_factory=dict)),
        routeLabels=(labels | None, None),
        alerts=(Annotated[list[alert], Field(max_length=max_alerts)], ...),
    )


def _message(error: Any) -> str:
    """A validation error in our words: the limits say which limit, never echo the value."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_long":
        what = "name " if error["loc"] and error["loc"][-1] == "[key]" else ""
        return f"{what}longer than {ctx['max_length']} characters"
    if kind == "too_long":
        noun = "alerts" if error["loc"] == ("alerts",) else "entries"
        return f"more than the limit of {ctx['max_length']} {noun}"
    return str(error["msg"]).removeprefix("Value error, ")


def parse_webhook(body: bytes, max_alerts: int, limits: LimitSettings | None = None) -> WebhookIn:
    """Parse and validate ``body``; raises ``InvalidPayload`` naming the first bad field.

    ``limits`` bounds names, values and counts (the defaults when None); the body is parsed and checked
    by pydantic-core in one pass, which also refuses JSON nested deeper than ``MAX_JSON_DEPTH``.
    """
    bounds = limits or _DEFAULT_LIMITS
    model = _bounded_model(
        max_alerts,
        bounds.max_label_name_chars,
        bounds.max_label_value_chars,
        bounds.max_annotation_value_chars,
        bounds.max_labels_per_alert,
        bounds.max_annotations_per_alert,
    )
    try:
        payload = model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] == "json_invalid":
            cause = str((first.get("ctx") or {}).get("error", ""))
            if cause.startswith("recursion limit exceeded"):
                raise InvalidPayload(f"body is nested deeper than {MAX_JSON_DEPTH} levels") from None
            raise InvalidPayload(f"body is not valid JSON: {cause}") from None
        if first["type"] == "model_type" and first["loc"] == ():
            raise InvalidPayload("body must be a JSON object", field="") from None
        where = _field_path(first["loc"])
        raise InvalidPayload(f"{where}: {_message(first)}", field=where) from None
    _check_alerts(payload)
    return payload


def normalise(alert: AlertIn, received_at: str, source: str = "alertmanager") -> dict[str, Any]:
    fields = {
        "status": alert.status,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "startsAt": alert.startsAt,
        "endsAt": alert.endsAt,
        "generatorURL": alert.generatorURL,
        "fingerprint": alert.fingerprint,
    }
    return normalised(fields, received_at, source)
