"""Liveness and readiness: /healthz says the process serves; /readyz says it can do its job."""

from __future__ import annotations

import re

import redis
from flask import Blueprint, Response, jsonify

from receiver import truncation
from receiver.request_scope import caller, context
from workers.spine import inbox
from workers.spine.context import Context

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
        checks["rules"]["detail"] = _reload_failure(registry.error)
    checks["notify"] = _notify_check(ctx)
    if checks["redis"]["ok"]:
        checks["alerts_truncated"] = _truncation_check(ctx)
        if ctx.settings.alerts.intake == "deferred":
            checks["intake"] = _intake_check(ctx)
    ready = bool(checks["redis"]["ok"])
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), 200 if ready else 503


def _reload_failure(error: str) -> str:
    """The rule-reload error: in full for a viewer or approver, else only how many problems (file paths,
    rule names and regexes are the rule authors' business, not every prober's)."""
    identity = caller()
    if identity is not None and identity.may("read"):
        return f"last reload failed, previous rule set still active: {error}"
    counted = re.match(r"(\d+) problems? in rules", error)
    problems = int(counted.group(1)) if counted else 1
    return (
        f"rules: last reload failed ({problems} problem{'s' if problems != 1 else ''}); "
        "previous rule set still active; send a viewer token for the details"
    )


# Warnings below never affect readiness: the replica still does its job, a person should still know.


def _may_read() -> bool:
    identity = caller()
    return identity is not None and identity.may("read")


def _notify_check(ctx: Context) -> dict[str, object]:
    warning = ctx.settings.notify.link_warning()
    check: dict[str, object] = {"ok": True, "public_url": ctx.settings.notify.public_url}
    if warning:
        check["detail"] = warning
    return check


def _intake_check(ctx: Context) -> dict[str, object]:
    """Deferred intake: payloads waiting for a drain job, whether one is queued or running, and entries
    kept aside because no drain job could read them."""
    try:
        backlog = inbox.backlog(ctx.redis)
        rejected = int(ctx.redis.llen(inbox.REJECTED))
        draining = bool(ctx.redis.exists(inbox.DRAINER))
    except redis.RedisError:
        return {"ok": True, "detail": "unknown: Redis did not answer"}
    check: dict[str, object] = {"ok": True, "backlog": backlog, "draining": draining, "rejected": rejected}
    problems = []
    if backlog and not draining:
        problems.append(f"{backlog} payload(s) wait and no drain job is queued: are the workers and cron up?")
    if rejected:
        problems.append(f"{rejected} intake entr{'y' if rejected == 1 else 'ies'} kept in {inbox.REJECTED}")
    if problems:
        check["detail"] = "; ".join(problems)
    return check


def _truncation_check(ctx: Context) -> dict[str, object]:
    """The last notification Alertmanager truncated; its group's labels only for a viewer or approver."""
    try:
        last = truncation.last(ctx.redis)
    except redis.RedisError:
        return {"ok": True, "detail": "unknown: Redis did not answer"}
    if last is None:
        return {"ok": True, "last": None}
    reader = _may_read()
    shown = {key: last.get(key) for key in ("at", "truncated", "received")}
    if reader:
        shown.update(groupKey=last.get("groupKey"), groupLabels=last.get("groupLabels"))
    return {"ok": True, "last": shown, "detail": truncation.describe(last, with_group=reader)}
