"""POST /webhooks/alertmanager: authenticate, validate, then deduplicate, match and queue (``inline``) or
append the payload for the workers to (``deferred``, ``workers.spine.inbox``)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from receiver import truncation
from receiver.errors import UnsupportedMediaType
from receiver.metrics import webhook_latency
from receiver.payload import normalise, parse_webhook
from receiver.request_scope import context, require
from workers.clock import iso
from workers.spine import inbox
from workers.spine.intake import ingest

blueprint = Blueprint("webhook", __name__)


@blueprint.post("/webhooks/alertmanager")
def alertmanager() -> tuple[Response, int]:
    started = time.perf_counter()
    try:
        require("ingest")
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"Content-Type must be application/json, not {request.mimetype or 'none'}"
            )
        ctx = context()
        limits = ctx.settings.limits
        raw = request.get_data(cache=False)
        payload = parse_webhook(raw, limits.max_alerts_per_payload, limits)
        received_at = iso(ctx.clock())
        body: dict[str, Any]
        if ctx.settings.alerts.intake == "deferred":
            inbox.push(ctx, raw, received_at)
            body = {"received": len(payload.alerts), "deferred": True}
        else:
            alerts = [normalise(alert, received_at) for alert in payload.alerts]
            body = dict(ingest(ctx, alerts).to_dict())
        if payload.truncatedAlerts:
            # Counted only once the alerts we did get are queued: a 503 and Alertmanager's retry count once.
            truncation.note(ctx.redis, payload, received_at)
            body["truncatedAlerts"] = payload.truncatedAlerts
        return jsonify(body), 202
    finally:
        webhook_latency().observe(time.perf_counter() - started)
