"""Execute approved proposals, validate them over the watch window, and park reverts on regression.

An execution is never retried blindly: a job that finds its proposal already ``executing`` (its
worker died mid-way) moves it to ``unknown`` for a person to check.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rq import Queue

from workers.errors import AiopsError, Conflict, NotFound
from workers.integrations.notify.sinks import notify
from workers.spine import counters, queues
from workers.spine.context import Context
from workers.spine.executor import execute_plan
from workers.spine.plans import Plan
from workers.spine.proposals import Proposal, expiry_after, iso, parse_iso
from workers.spine.rebuild import rebuild as rebuild_plan
from workers.spine.validation import next_delay, run_checks, verdict


def execute(context: Context, proposal_id_: str) -> str:
    """Carry out an approved proposal; returns its final status."""
    proposals, records = context.proposals, context.records
    proposal = proposals.get(proposal_id_)
    if proposal.status == "executing":
        return mark_unknown(context, proposal_id_, "execution was interrupted (worker died); not retried")
    try:
        proposal = proposals.transition(
            proposal_id_,
            "executing",
            expect=["approved"],
            mutate=lambda p: p.execution.update({"started_at": iso(context.clock())}),
        )
    except Conflict as exc:
        records.append(proposal.record_id, "execution_skipped", {"reason": str(exc)})
        return proposal.status
    rid = proposal.record_id
    records.append(rid, "execution_started", {"action": proposal.action.get("type")})
    plan_data = proposal.action.get("plan")
    if not plan_data:
        return _finish(
            context, proposal, "succeeded", {"noop": True, "detail": "no cluster change was proposed"}
        )
    applied = {"reached_apply": False}

    def step(kind: str, data: dict[str, Any]) -> None:
        if kind == "snapshot":
            applied["reached_apply"] = True
        records.append(rid, kind, data)

    action, params = str(proposal.action.get("type")), dict(proposal.action.get("params") or {})

    def rebuild(approved: Plan) -> Plan:
        # The stored plan is redacted: the exact one is computed again from the cluster, under the guard.
        return rebuild_plan(context.kube, action, params, proposal.target, approved)

    try:
        outcome = execute_plan(
            context.kube,
            Plan.from_dict(plan_data),
            context.settings.namespaces,
            on_step=step,
            rebuild=rebuild,
        )
    except AiopsError as exc:
        status = "unknown" if applied["reached_apply"] else "failed"
        records.append(
            rid, "execution_failed", {"error": str(exc), "error_type": type(exc).__name__, "status": status}
        )
        return _finish(context, proposal, status, {"error": str(exc)})
    final = _finish(context, proposal, "succeeded", outcome)
    plan = proposal.validation_plan
    if final == "succeeded" and plan.get("checks"):
        schedule_validation(context, proposal_id_, 0, int(plan.get("after_s") or 120))
    return final


def _finish(context: Context, proposal: Proposal, status: str, execution: dict[str, Any]) -> str:
    def mark(p: Proposal) -> None:
        p.execution.update(execution)
        p.execution["finished_at"] = iso(context.clock())

    done = context.proposals.transition(proposal.id, status, expect=["executing"], mutate=mark)
    counters.increment(
        context.redis, "action_outcomes_total", action=str(done.action.get("type")), outcome=status
    )
    context.records.append(done.record_id, "execution_finished", {"status": status})
    if status != "succeeded":
        notify(context.settings.notify, done, f"action {status}")
    return status


def mark_unknown(context: Context, proposal_id_: str, reason: str) -> str:
    try:
        proposal = context.proposals.transition(
            proposal_id_,
            "unknown",
            expect=["executing"],
            mutate=lambda p: p.execution.update({"unknown_reason": reason}),
        )
    except (Conflict, NotFound):
        return context.proposals.get(proposal_id_).status
    context.records.append(proposal.record_id, "execution_unknown", {"reason": reason})
    counters.increment(
        context.redis, "action_outcomes_total", action=str(proposal.action.get("type")), outcome="unknown"
    )
    notify(context.settings.notify, proposal, "action outcome unknown: check the cluster")
    return "unknown"


def schedule_validation(context: Context, proposal_id_: str, round_: int, delay_s: int) -> None:
    Queue(queues.ACTIONS, connection=context.redis).enqueue_in(
        timedelta(seconds=delay_s),
        "workers.runner.jobs.validate",
        proposal_id_,
        round_,
        job_id=f"validate-{proposal_id_}-{round_}",
        **queues.VALIDATE_OPTIONS,
    )


def validate(context: Context, proposal_id_: str, round_: int) -> str:
    """One round of checks; schedules the next one until the watch window has passed."""
    proposal = context.proposals.get(proposal_id_)
    if proposal.status != "succeeded":
        return proposal.status
    plan = proposal.validation_plan
    state = dict(proposal.validation.get("state") or {})
    results = run_checks(context.kube, context.prometheus, plan, state)
    outcome = verdict(results)
    context.records.append(
        proposal.record_id, "validation_check", {"round": round_, "results": results, "verdict": outcome}
    )
    finished_at = parse_iso(proposal.execution.get("finished_at") or proposal.created_at)
    window_over = context.clock() >= finished_at + timedelta(seconds=int(plan.get("for_s") or 0))

    def keep(p: Proposal) -> None:
        p.validation["state"] = state
        p.validation.setdefault("rounds", []).append(
            {"round": round_, "at": iso(context.clock()), "results": results, "verdict": outcome}
        )

    if outcome is False:
        regressed = context.proposals.transition(proposal_id_, "regressed", expect=["succeeded"], mutate=keep)
        context.records.append(regressed.record_id, "validation_result", {"status": "regressed"})
        counters.increment(context.redis, "validations_total", outcome="regressed")
        park_revert(context, regressed)
        return "regressed"
    if window_over and outcome is True:
        validated = context.proposals.transition(proposal_id_, "validated", expect=["succeeded"], mutate=keep)
        context.records.append(validated.record_id, "validation_result", {"status": "validated"})
        counters.increment(context.redis, "validations_total", outcome="validated")
        return "validated"
    context.proposals.update(proposal_id_, keep, expect=["succeeded"])
    schedule_validation(context, proposal_id_, round_ + 1, next_delay(int(plan.get("after_s") or 60), round_))
    return "succeeded"


def park_revert(context: Context, proposal: Proposal) -> Proposal | None:
    """After a regression, park the revert of the change for approval (never automatic)."""
    revert = (proposal.execution or {}).get("revert_plan")
    if not revert:
        context.records.append(
            proposal.record_id, "revert_not_possible", {"reason": "the action cannot be undone"}
        )
        return None
    now = context.clock()
    parked = Proposal(
        id=f"{proposal.id}-revert",
        rule=proposal.rule,
        playbook=proposal.playbook,
        alert=proposal.alert,
        target=proposal.target,
        diagnosis={
            "summary": f"validation of {proposal.id} failed; revert proposed",
            "category": "regression",
            "regressed": proposal.id,
        },
        action={
            "type": "revert",
            "params": {"of": proposal.id},
            "plan": revert,
            "reasoning": "undo the change",
        },
        risk="medium",
        approval="required",
        expected_outcome="the workload returns to its state before the change",
        validation_plan={
            "after_s": proposal.validation_plan.get("after_s", 60),
            "for_s": 0,
            "checks": [],
            "workload": proposal.validation_plan.get("workload"),
        },
        created_at=iso(now),
        expires_at=expiry_after(now, context.settings.proposals.default_expires_after_s),
        record_id=proposal.record_id,
        revert_of=proposal.id,
    )
    parked, created = context.proposals.create(parked)
    if created:
        context.records.append(
            proposal.record_id, "revert_proposed", {"proposal_id": parked.id, "plan": revert}
        )
        notify(context.settings.notify, parked, "regression: revert pending")
    return parked


def expire_pending(context: Context) -> list[str]:
    """Move pending proposals past their expiry to ``expired``."""
    expired = []
    for pid in context.proposals.due_for_expiry(context.clock()):
        try:
            proposal = context.proposals.transition(pid, "expired", expect=["pending"])
        except (Conflict, NotFound):
            continue
        context.records.append(proposal.record_id, "expired", {"expires_at": proposal.expires_at})
        expired.append(pid)
    return expired


def supersede_for_alert(context: Context, alert: dict[str, Any]) -> list[str]:
    superseded = []
    for pid in context.proposals.ids_for_alert(alert["fingerprint"]):
        try:
            proposal = context.proposals.transition(
                pid,
                "superseded",
                expect=["pending"],
                mutate=lambda p: setattr(p, "comment", "alert resolved before a decision"),
            )
        except (Conflict, NotFound):
            continue
        context.records.append(
            proposal.record_id, "superseded", {"reason": "alert resolved", "endsAt": alert.get("endsAt")}
        )
        superseded.append(pid)
    return superseded
