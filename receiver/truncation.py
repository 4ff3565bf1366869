"""Alerts Alertmanager left out of a notification (``truncatedAlerts``: its webhook sets ``max_alerts``).

Those alerts never reach us, so nothing investigates them: each occurrence is counted in Redis (so every
replica's /metrics agrees), logged as a warning naming the group, and the last one is kept for /readyz and
the approvals page.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis

from receiver.payload import WebhookIn
from workers.integrations.redis.connection import as_text
from workers.spine import counters

LAST_KEY = "aiops:alerts:truncated:last"
COUNTER = "alerts_truncated_total"
log = logging.getLogger("aiops.webhook")


def note(connection: redis.Redis, payload: WebhookIn, at: str) -> dict[str, Any]:
    """Count and log the alerts Alertmanager left out of ``payload``; returns what is kept as the last."""
    last = {
        "at": at,
        "truncated": payload.truncatedAlerts,
        "received": len(payload.alerts),
        "receiver": payload.receiver,
        "groupKey": payload.groupKey,
        "groupLabels": dict(payload.groupLabels),
    }
    pipe = connection.pipeline()
    counters.increment(pipe, COUNTER, payload.truncatedAlerts)
    pipe.set(LAST_KEY, json.dumps(last))
    pipe.execute()
    log.warning(
        "Alertmanager left %d alert(s) out of a notification of group %s (groupLabels %s, receiver %s): "
        "they will not be investigated; set max_alerts: 0 on its webhook_configs",
        payload.truncatedAlerts,
        payload.groupKey or "?",
        json.dumps(last["groupLabels"], sort_keys=True),
        payload.receiver or "?",
    )
    return last


def last(connection: redis.Redis) -> dict[str, Any] | None:
    """The last truncated notification, or None when there was none."""
    raw = connection.get(LAST_KEY)
    return json.loads(as_text(raw)) if raw else None


def describe(last: dict[str, Any], with_group: bool) -> str:
    """One sentence for people; the group's labels only for callers allowed to read alerts."""
    group = f" of group {json.dumps(last.get('groupLabels') or {}, sort_keys=True)}" if with_group else ""
    return (
        f"at {last['at']} Alertmanager left {last['truncated']} alert(s){group} out of a notification "
        "(max_alerts is set on its webhook): they were not investigated. Set max_alerts: 0."
    )
