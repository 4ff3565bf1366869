"""POST /webhooks/alertmanager: validate, authenticate, deduplicate, match and queue."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from receiver import truncation
from receiver.errors import UnsupportedMediaType
from receiver.metrics import webhook_latency
from receiver.payload import normalise, parse_webhook
from receiver.request_scope import context, require
from workers.clock import iso
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
        payload = parse_webhook(request.get_data(cache=False), limits.max_alerts_per_payload, limits)
        received_at = iso(ctx.clock())
        alerts = [normalise(alert, received_at) for alert in payload.alerts]
        result = ingest(ctx, alerts)
        body = result.to_dict()
        if payload.truncatedAlerts:
            # Counted only once the alerts we did get are queued: a 503 and Alertmanager's retry count once.
            truncation.note(ctx.redis, payload, received_at)
            body["truncatedAlerts"] = payload.truncatedAlerts
        return jsonify(body), 202
    finally:
        webhook_latency().observe(time.perf_counter() - started)
