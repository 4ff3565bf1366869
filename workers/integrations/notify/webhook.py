"""The generic webhook sink: the notification as JSON, signed with HMAC-SHA256, retried with backoff.

The signature follows Slack's scheme, so that a receiver can check both who sent the body and when:
``X-Aiops-Timestamp`` holds the Unix time of the try and ``X-Aiops-Signature`` is
``v1=<hex HMAC-SHA256 of "v1:{timestamp}:{body}">`` keyed with the sink's secret. A receiver refuses a
timestamp older than its replay window (``verify``). Each try is signed anew.

Network errors, 429 and 5xx are tried again after ``backoff_s``, doubling; other answers are final. The
outcome (never an exception) goes to the audit record: a failing sink never holds up a proposal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from workers.settings import NotifySink

log = logging.getLogger("aiops.notify")

SIGNATURE_HEADER = "X-Aiops-Signature"
TIMESTAMP_HEADER = "X-Aiops-Timestamp"
VERSION = "v1"
REPLAY_WINDOW_S = 300
RETRY_AFTER_MAX_S = 30.0
"""Longest ``Retry-After`` honoured; a longer one is cut to this (the sink is not worth a stuck job)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 of ``v1:{timestamp}:{body}`` keyed with ``secret``."""
    message = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes,
    offered: str | None,
    now: float,
    window_s: int = REPLAY_WINDOW_S,
) -> bool:
    """True when ``offered`` signs ``body`` at ``timestamp`` and the timestamp is within ``window_s`` of
    ``now``: what a receiver of our webhook checks (compared in constant time)."""
    if not timestamp or not offered:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > window_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), offered)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _wait(response: httpx.Response | None, backoff: float) -> float:
    header = response.headers.get("Retry-After") if response is not None else None
    if header and header.strip().isdigit():
        return min(float(header.strip()), RETRY_AFTER_MAX_S)
    return backoff


def post(
    sink: NotifySink,
    body: dict[str, Any],
    default_secret: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """POST ``body`` to ``sink.url``; the outcome for the record: ok, status, attempts, signed, error."""
    payload = json.dumps(body, default=str, separators=(",", ":")).encode()
    secret = sink.secret.get_secret_value() if sink.secret is not None else default_secret
    outcome: dict[str, Any] = {"sink": "webhook", "url": sink.url, "signed": bool(secret)}
    backoff = sink.backoff_s
    for attempt in range(1, sink.attempts + 1):
        headers = {"Content-Type": "application/json"}
        if secret:
            timestamp = str(int(clock()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(secret, timestamp, payload)
        response: httpx.Response | None = None
        try:
            response = httpx.post(str(sink.url), content=payload, headers=headers, timeout=sink.timeout_s)
        except httpx.HTTPError as exc:
            outcome.update({"ok": False, "status": None, "error": f"{type(exc).__name__}: {exc}"})
        else:
            outcome.update({"ok": response.is_success, "status": response.status_code})
            outcome.pop("error", None)
            if not response.is_success:
                outcome["error"] = f"HTTP {response.status_code}"
        outcome["attempts"] = attempt
        if outcome["ok"] or (response is not None and not _retryable(response.status_code)):
            break
        if attempt < sink.attempts:
            sleep(_wait(response, backoff))
            backoff *= 2
    if not outcome["ok"]:
        log.warning("notify: webhook %s failed after %d tries: %s", sink.url, outcome["attempts"], outcome)
    return outcome
