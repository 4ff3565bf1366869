"""The right-sizing jobs: analyse a namespace and park one ``patch-resources`` proposal per workload
whose recommendation is ``ok`` (``POST /api/v1/rightsizing`` and the daily schedule enqueue them).

Each parked workload gets its own audit record: the analysis (percentiles, margin arithmetic,
backtest, guards), the savings (request reduction % and per month), then what ``park`` appends. Ids
derive from the workload, its generation and the recommended values, so a job that runs again parks
nothing twice, and a new answer for the same workload supersedes the older pending one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from rules.allowlist import Risk
from workers.clock import iso
from workers.domain import Target
from workers.settings import Settings
from workers.spine.context import Context, current
from workers.spine.parking import park
from workers.workflows.rightsizing import workflow

log = logging.getLogger(__name__)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def validation_plan(settings: Settings, result: dict[str, Any]) -> dict[str, Any]:
    rs = settings.rightsizing
    return {
        "after_s": rs.validate_after_s,
        "for_s": rs.watch_window_s,
        "checks": [
            {"kubernetes": "pods_ready", "within_s": rs.ready_within_s},
            {"kubernetes": "no_restarts"},
            {"kubernetes": "no_oom_kills"},
        ],
        "workload": {"namespace": result["namespace"], "kind": result["kind"], "name": result["name"]},
        "described": (
            f"rollout complete and every pod Ready within {rs.ready_within_s}s; 0 restarts and no OOM kill "
            f"over {rs.watch_window_s}s"
        ),
    }


def park_result(context: Context, result: dict[str, Any], origin: str) -> list[dict[str, Any]]:
    """Park the drafts of one workload's answer; what was parked (id, created, action, target)."""
    found = workflow.drafts(result, context.settings)
    if not found:
        return []
    key = _digest(result["kind"], result["namespace"], result["name"], result["generation"], found[0].params)
    record_id = f"r-rs-{key}"
    rule = f"{origin}:{workflow.NAME}"
    workload = Target(kind=result["kind"], namespace=result["namespace"], name=result["name"])
    context.records.open(
        record_id,
        {"rule": rule, "workload": workload.key(), "created_at": iso(context.clock())},
    )
    diagnosis = {
        "category": "rightsizing",
        "summary": workflow.headline(result),
        "root_cause": workflow.headline(result),
        "confidence": 0.9,
        "workload": workload.model_dump(),
        "rightsizing": result,
    }
    context.records.append_once(record_id, "diagnosis", diagnosis, token="diagnosis")  # noqa: S106 - a once-key
    savings = {
        c["container"]: c["savings"] for c in result["containers"] if c["container"] in result["proposed"]
    }
    context.records.append_once(
        record_id,
        "savings",
        {"containers": savings, "total": result["savings"]},
        token="savings",  # noqa: S106 - a once-key
    )
    context.records.set_meta(record_id, savings=result["savings"])
    parked = []
    for index, draft in enumerate(found):
        suffix = "" if index == 0 else f"-hpa{index}"
        outcome = park(
            context,
            proposal_id=f"p-rs-{key}{suffix}",
            record_id=record_id,
            rule=rule,
            playbook=workflow.NAME,
            subject=workload.model_dump(),
            workload=workload,
            diagnosis=diagnosis,
            draft=draft,
            evidence={},
            validation_plan=validation_plan(context.settings, result)
            if index == 0
            else {"after_s": 0, "for_s": 0, "checks": [], "workload": None},
            risk_floor=Risk.medium,
        )
        parked.append(
            {
                "proposal_id": outcome.proposal.id,
                "created": outcome.created,
                "status": str(outcome.proposal.status),
                "action": outcome.proposal.action.get("type"),
                "target": outcome.proposal.target,
            }
        )
    return parked


def rightsize(context: Context, namespace: str, workload: str | None, origin: str) -> dict[str, Any]:
    """Analyse ``namespace`` (or one ``KIND/NAME``) and park what is ok; the summary of what happened."""
    if not context.settings.namespaces.permits(namespace):
        return {"namespace": namespace, "refused": f"namespace {namespace} is denied by settings"}
    only = None
    if workload:
        kind, _, name = workload.partition("/")
        only = (kind, name)
    results, _ = workflow.report(context.kube, context.prometheus, context.settings, namespace, only)
    parked: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for result in results:
        done = park_result(context, result, origin)
        if done:
            parked.extend(done)
        else:
            skipped.append(
                {
                    "workload": f"{result['kind']}/{result['name']}",
                    "status": result["status"],
                    "reason": workflow.headline(result),
                }
            )
    log.info("rightsizing %s: %d parked, %d skipped", namespace, len(parked), len(skipped))
    return {"namespace": namespace, "analysed": len(results), "parked": parked, "skipped": skipped}


def scheduled_namespaces(settings: Settings) -> list[str]:
    listed = settings.rightsizing.namespaces or settings.namespaces.allow
    return [ns for ns in listed if settings.namespaces.permits(ns)]


def rightsize_job(namespace: str, workload: str | None = None, origin: str = "api") -> dict[str, Any]:
    """RQ job: one namespace (``POST /api/v1/rightsizing``)."""
    return rightsize(current(), namespace, workload, origin)


def schedule_job() -> list[dict[str, Any]]:
    """RQ cron job: every scheduled namespace, one after the other."""
    context = current()
    return [rightsize(context, ns, None, "schedule") for ns in scheduled_namespaces(context.settings)]
