"""Liveness and readiness: /healthz says the process serves; /readyz says it can do its job."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, jsonify

from receiver.app import context

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    ctx = context()
    checks: dict[str, dict[str, object]] = {}
    try:
        ctx.redis.ping()
        checks["redis"] = {"ok": True}
    except redis.RedisError as exc:
        checks["redis"] = {"ok": False, "detail": f"unreachable: {type(exc).__name__}"}
    registry = ctx.rules
    checks["rules"] = {
        "ok": registry.error is None,
        "loaded": len(registry.current),
        "generation": registry.generation,
    }
    if registry.error:
        # The last good set stays active: report the error without taking the replica out of service.
        checks["rules"]["detail"] = f"last reload failed, previous rule set still active: {registry.error}"
    ready = bool(checks["redis"]["ok"])
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), 200 if ready else 503
