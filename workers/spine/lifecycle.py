"""Every state change of a proposal, in one place: park, decide, expire, supersede, execute, validate,
revert; and the RQ jobs that carry them out, enqueued by reference.

Each change is one compare-and-set in the store followed by one record entry (``_move``), so racing
approvers, replayed jobs and several replicas move a proposal once and record it once. An execution
is never retried blindly: a job that finds its proposal already ``executing`` (its worker died
mid-way) moves it to ``unknown`` for a person to check.

Executions on one object take turns (a lock per object), and a change that ran makes the other open
proposals planned for the object's earlier state moot: they end ``superseded`` by it, never ``failed``.
Every move also tells the workload's incident (``workers.spine.incidents``), which ends with its proposals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from rq import Callback

from workers.clock import expiry_after, iso, parse_iso
from workers.domain import Proposal, ProposalStatus, Target
from workers.errors import AiopsError, Conflict, NotFound
from workers.integrations.notify.sinks import notify
from workers.spine import counters, incidents, queues, turns
from workers.spine.context import Context, current
from workers.spine.executor import execute_plan
from workers.spine.plans import Plan
from workers.spine.rebuild import rebuild as rebuild_plan
from workers.spine.validation import next_delay, run_checks, verdict

S = ProposalStatus
Entry = dict[str, Any] | Callable[[Proposal], dict[str, Any]]


def _move(
    context: Context,
    proposal_id: str,
    to: ProposalStatus,
    expect: list[ProposalStatus],
    kind: str,
    entry: Entry | None = None,
    mutate: Callable[[Proposal], None] | None = None,
    strict: bool = False,
) -> Proposal | None:
    """Transition, then record ``kind``; None when the proposal is gone or not in ``expect``.

    ``strict`` raises ``Conflict``/``NotFound`` instead, for callers that answer a person (409, 404).
    """
    try:
        moved = context.proposals.transition(proposal_id, to, expect=expect, mutate=mutate)
    except (Conflict, NotFound):
        if strict:
            raise
        return None
    data = entry(moved) if callable(entry) else dict(entry or {})
    data.setdefault("proposal_id", moved.id)  # a record may hold several proposals (alternatives, reverts)
    context.records.append(moved.record_id, kind, data)
    incidents.follow(context, moved)
    return moved


def _notify(context: Context, proposal: Proposal, event: str) -> None:
    """Tell the sinks, and record what each answered (a failed notification is recorded, never raised)."""
    sinks = notify(context.settings.notify, proposal, event)
    context.records.append(
        proposal.record_id, "notification", {"event": event, "proposal_id": proposal.id, "sinks": sinks}
    )


def _comment(text: str) -> Callable[[Proposal], None]:
    def mark(proposal: Proposal) -> None:
        proposal.comment = text

    return mark


# -- parking -------------------------------------------------------------------------------------


def new_proposal(context: Context, expires_after_s: int | None = None, **fields: Any) -> Proposal:
    """A pending proposal created now, expiring after ``expires_after_s`` (default from settings)."""
    now = context.clock()
    seconds = expires_after_s or context.settings.proposals.default_expires_after_s
    return Proposal(created_at=iso(now), expires_at=expiry_after(now, seconds), **fields)


def supersede_older(context: Context, proposal: Proposal) -> list[str]:
    """A newer proposal for the same target replaces the pending ones of earlier incidents."""
    superseded = []
    for other in context.proposals.ids_for_target(proposal.target_of()):
        if other == proposal.id or _record_of(context, other) == proposal.record_id:
            continue
        moved = _move(
            context,
            other,
            S.superseded,
            [S.pending],
            "superseded",
            {"by": proposal.id, "reason": "a newer proposal for the same target"},
            mutate=lambda p: setattr(p, "comment", f"superseded by newer proposal {proposal.id}"),
        )
        if moved is not None:
            superseded.append(other)
    return superseded


def _record_of(context: Context, proposal_id: str) -> str | None:
    try:
        return context.proposals.get(proposal_id).record_id
    except NotFound:
        return None


# -- decisions -----------------------------------------------------------------------------------


def _expire(context: Context, proposal_id: str) -> Proposal | None:
    return _move(
        context, proposal_id, S.expired, [S.pending], "expired", lambda p: {"expires_at": p.expires_at}
    )


def _decide(
    context: Context,
    proposal_id: str,
    to: ProposalStatus,
    who: str,
    note: str | None,
    note_key: str,
    auto: bool = False,
) -> Proposal:
    proposal = context.proposals.get(proposal_id)
    if proposal.status == S.pending and parse_iso(proposal.expires_at) <= context.clock():
        _expire(context, proposal_id)  # past its expiry: expired now, even if cron has not run yet
    now = iso(context.clock())

    def mark(p: Proposal) -> None:
        p.decided_by, p.decided_at, p.comment = who, now, note

    entry: dict[str, Any] = {"decision": str(to), "by": who, "at": now, note_key: note}
    if auto:
        entry["auto"] = True
    decided = _move(context, proposal_id, to, [S.pending], "approval", entry, mutate=mark, strict=True)
    assert decided is not None  # strict: a lost race raised Conflict
    return decided


def approve(
    context: Context, proposal_id: str, who: str, comment: str | None, auto: bool = False
) -> Proposal:
    """Approve a pending proposal and queue its execution; ``Conflict`` if it is not pending."""
    proposal = _decide(context, proposal_id, S.approved, who, comment, "comment", auto)
    queues.queue(queues.ACTIONS, context.redis).enqueue_call(
        execute_job,
        args=(proposal_id,),
        job_id=f"execute-{proposal_id}",
        on_failure=Callback(execute_failed),
        **queues.rq_options(queues.EXECUTE_OPTIONS),
    )
    return proposal


def reject(context: Context, proposal_id: str, who: str, reason: str | None) -> Proposal:
    """Reject a pending proposal; ``Conflict`` if it is not pending."""
    return _decide(context, proposal_id, S.rejected, who, reason, "reason")


def expire_pending(context: Context) -> list[str]:
    """Move pending proposals past their expiry to ``expired``."""
    return [pid for pid in context.proposals.due_for_expiry(context.clock()) if _expire(context, pid)]


def supersede_for_alert(context: Context, alert: dict[str, Any]) -> list[str]:
    """The alert resolved: its pending proposals are moot, once no other alert of their incident fires."""
    fingerprint = alert["fingerprint"]
    resolved = incidents.for_context(context).resolve(fingerprint)
    for incident in resolved:
        if incident.still_firing:
            context.records.append(
                incident.record_id,
                "alert_resolved",
                {
                    "fingerprint": fingerprint,
                    "pod": (alert.get("labels") or {}).get("pod"),
                    "endsAt": alert.get("endsAt"),
                    "still_firing": incident.still_firing,
                    "detail": f"{incident.still_firing} other alert(s) of the incident fire: it stays open",
                },
            )
    going_on = {incident.record_id for incident in resolved if incident.still_firing}
    over = [incident for incident in resolved if not incident.still_firing]
    reasons = {pid: "alert resolved" for pid in context.proposals.ids_for_alert(fingerprint)}
    for incident in over:
        reasons.update(
            {
                p.id: "every alert of the incident resolved"
                for p in incidents.proposals_of(context, incident.record_id)
            }
        )
    superseded = []
    for pid, reason in sorted(reasons.items()):
        if _record_of(context, pid) in going_on:
            continue
        moved = _move(
            context,
            pid,
            S.superseded,
            [S.pending],
            "superseded",
            {"reason": reason, "endsAt": alert.get("endsAt")},
            mutate=_comment("alert resolved before a decision"),
        )
        if moved is not None:
            superseded.append(pid)
    for incident in over:
        incidents.close(
            context,
            incident.workflow,
            incident.workload,
            incident.record_id,
            "every alert of the incident resolved",
        )
    return superseded


# -- execution -----------------------------------------------------------------------------------


APPLIED = frozenset({S.succeeded, S.validated, S.regressed})


def execute(context: Context, proposal_id: str, attempt: int = 0) -> str:
    """Carry out an approved proposal; returns its final status (``approved`` while it waits its turn)."""
    proposal = context.proposals.get(proposal_id)
    if proposal.status == S.executing:
        return mark_unknown(context, proposal_id, "execution was interrupted (worker died); not retried")
    obj = turns.plan_object(proposal.action.get("plan")) if proposal.status == S.approved else None
    if obj is None:
        return _execute(context, proposal)
    holder = turns.take(context, obj, proposal_id)
    if holder is not None:
        return _wait_turn(context, proposal, obj, holder, attempt)
    try:
        return _execute(context, proposal)
    finally:
        turns.give_back(context, obj, proposal_id)


def _wait_turn(context: Context, proposal: Proposal, obj: Target, holder: str, attempt: int) -> str:
    """Another execution is changing ``obj``: run again shortly (then this plan may be moot)."""
    if attempt == 0:
        context.records.append(
            proposal.record_id,
            "execution_waiting",
            {
                "holder": holder,
                "reason": f"proposal {holder} is changing {obj.key()}; this one runs after",
                "proposal_id": proposal.id,
            },
        )
    queues.queue(queues.ACTIONS, context.redis).enqueue_in(
        timedelta(seconds=turns.wait_delay(attempt)),
        execute_job,
        proposal.id,
        attempt + 1,
        job_id=f"execute-{proposal.id}-wait-{attempt + 1}",
        on_failure=Callback(execute_failed),
        **queues.rq_options(queues.EXECUTE_OPTIONS),
    )
    return proposal.status


def _changed_by(context: Context, proposal: Proposal) -> Proposal | None:
    """A sibling proposal that already changed this plan's object from the state this plan was made for."""
    plan = proposal.action.get("plan") or {}
    obj = turns.plan_object(plan)
    if obj is None:
        return None
    for other in turns.others_on(context, obj, proposal.id):
        if other.status in APPLIED and (other.action.get("plan") or {}).get("guard") == plan.get("guard"):
            return other
    return None


def supersede_moot(context: Context, done: Proposal) -> list[str]:
    """An executed change makes the open proposals planned for the object's earlier state moot."""
    plan = done.action.get("plan") or {}
    obj = turns.plan_object(plan)
    if obj is None:
        return []
    after = done.execution.get("result") or {}
    moot = []
    for other in turns.others_on(context, obj, done.id):
        guard = (other.action.get("plan") or {}).get("guard") or {}
        if other.status not in (S.pending, S.approved):
            continue
        if plan.get("verb") != "delete" and not turns.guard_stale(guard, after):
            continue  # planned for the object as the change left it: still valid
        if _supersede_by(context, other, done):
            moot.append(other.id)
    return moot


def _supersede_by(context: Context, proposal: Proposal, by: Proposal) -> bool:
    obj = turns.plan_object(by.action.get("plan"))
    where = obj.key() if obj else "the object"
    reason = (
        f"{by.action.get('type')} by proposal {by.id} already changed {where}; "
        "this plan was made for its earlier state"
    )
    moved = _move(
        context,
        proposal.id,
        S.superseded,
        [S.pending, S.approved],
        "superseded",
        {"by": by.id, "reason": reason},
        mutate=_comment(f"superseded by {by.id}: {reason}"),
    )
    return moved is not None


def _execute(context: Context, proposal: Proposal) -> str:
    proposal_id = proposal.id
    if proposal.status == S.approved:
        by = _changed_by(context, proposal)
        if by is not None and _supersede_by(context, proposal, by):
            return S.superseded
    try:
        proposal = context.proposals.transition(
            proposal_id,
            S.executing,
            expect=[S.approved],
            mutate=lambda p: p.execution.update({"started_at": iso(context.clock())}),
        )
    except Conflict as exc:
        context.records.append(
            proposal.record_id, "execution_skipped", {"reason": str(exc), "proposal_id": proposal_id}
        )
        return proposal.status
    rid = proposal.record_id
    context.records.append(
        rid, "execution_started", {"action": proposal.action.get("type"), "proposal_id": proposal_id}
    )
    plan_data = proposal.action.get("plan")
    if not plan_data:
        return _finish(
            context, proposal, S.succeeded, {"noop": True, "detail": "no cluster change was proposed"}
        )
    applied = {"reached_apply": False}

    def step(kind: str, data: dict[str, Any]) -> None:
        if kind == "snapshot":
            applied["reached_apply"] = True
        context.records.append(rid, kind, {**data, "proposal_id": proposal_id})

    action, params = str(proposal.action.get("type")), dict(proposal.action.get("params") or {})

    def rebuild(approved: Plan) -> Plan:
        # The stored plan is redacted: the exact one is computed again from the cluster, under the guard.
        implementation = context.workflows.actions.get(action)
        return rebuild_plan(context.kube, action, implementation, params, proposal.target, approved)

    try:
        outcome = execute_plan(
            context.kube,
            Plan.from_dict(plan_data),
            context.settings.namespaces,
            on_step=step,
            rebuild=rebuild,
        )
    except AiopsError as exc:
        status = S.unknown if applied["reached_apply"] else S.failed
        context.records.append(
            rid,
            "execution_failed",
            {
                "error": str(exc),
                "error_type": type(exc).__name__,
                "status": str(status),
                "proposal_id": proposal_id,
            },
        )
        return _finish(context, proposal, status, {"error": str(exc)})
    final = _finish(context, proposal, S.succeeded, outcome)
    if final == S.succeeded:
        supersede_moot(context, context.proposals.get(proposal_id))
    plan = proposal.validation_plan
    if final == S.succeeded and plan.get("checks"):
        schedule_validation(context, proposal_id, 0, int(plan.get("after_s") or 120))
    return final


def _outcome(context: Context, proposal: Proposal, status: ProposalStatus) -> None:
    counters.increment(
        context.redis, "action_outcomes_total", action=str(proposal.action.get("type")), outcome=str(status)
    )


def _finish(context: Context, proposal: Proposal, status: ProposalStatus, execution: dict[str, Any]) -> str:
    def mark(p: Proposal) -> None:
        p.execution.update(execution)
        p.execution["finished_at"] = iso(context.clock())

    done = _move(
        context, proposal.id, status, [S.executing], "execution_finished", {"status": str(status)}, mark, True
    )
    assert done is not None
    _outcome(context, done, status)
    if status != S.succeeded:
        _notify(context, done, f"action {status}")
    return status


def mark_unknown(context: Context, proposal_id: str, reason: str) -> str:
    """An execution that died half-way: a person must look at the cluster; never retried."""
    moved = _move(
        context,
        proposal_id,
        S.unknown,
        [S.executing],
        "execution_unknown",
        {"reason": reason},
        mutate=lambda p: p.execution.update({"unknown_reason": reason}),
    )
    if moved is None:
        return context.proposals.get(proposal_id).status
    obj = turns.plan_object(moved.action.get("plan"))
    if obj is not None:
        turns.give_back(context, obj, proposal_id)  # its worker died holding the object's turn
    _outcome(context, moved, S.unknown)
    _notify(context, moved, "action outcome unknown: check the cluster")
    return S.unknown


# -- validation and revert -----------------------------------------------------------------------


def schedule_validation(context: Context, proposal_id: str, round_: int, delay_s: int) -> None:
    queues.queue(queues.ACTIONS, context.redis).enqueue_in(
        timedelta(seconds=delay_s),
        validate_job,
        proposal_id,
        round_,
        job_id=f"validate-{proposal_id}-{round_}",
        **queues.VALIDATE_OPTIONS,
    )


def validate(context: Context, proposal_id: str, round_: int) -> str:
    """One round of checks; schedules the next one until the watch window has passed."""
    proposal = context.proposals.get(proposal_id)
    if proposal.status != S.succeeded:
        return proposal.status
    plan = proposal.validation_plan
    state = dict(proposal.validation.get("state") or {})
    results = run_checks(context.kube, context.prometheus, plan, state)
    outcome = verdict(results)
    context.records.append(
        proposal.record_id,
        "validation_check",
        {"round": round_, "results": results, "verdict": outcome, "proposal_id": proposal_id},
    )
    finished_at = parse_iso(proposal.execution.get("finished_at") or proposal.created_at)
    window_over = context.clock() >= finished_at + timedelta(seconds=int(plan.get("for_s") or 0))

    def keep(p: Proposal) -> None:
        p.validation["state"] = state
        p.validation.setdefault("rounds", []).append(
            {"round": round_, "at": iso(context.clock()), "results": results, "verdict": outcome}
        )

    if outcome is False or (window_over and outcome is True):
        status = S.regressed if outcome is False else S.validated
        done = _move(
            context, proposal_id, status, [S.succeeded], "validation_result", {"status": str(status)}, keep
        )
        if done is None:  # another round got there first
            return context.proposals.get(proposal_id).status
        counters.increment(context.redis, "validations_total", outcome=str(status))
        if status == S.regressed:
            park_revert(context, done)
        return status
    context.proposals.update(proposal_id, keep, expect=[S.succeeded])
    schedule_validation(context, proposal_id, round_ + 1, next_delay(int(plan.get("after_s") or 60), round_))
    return S.succeeded


def park_revert(context: Context, proposal: Proposal) -> Proposal | None:
    """After a regression, park the revert of the change for approval (never automatic)."""
    revert = (proposal.execution or {}).get("revert_plan")
    if not revert:
        context.records.append(
            proposal.record_id, "revert_not_possible", {"reason": "the action cannot be undone"}
        )
        return None
    parked, created = context.proposals.create(
        new_proposal(
            context,
            id=f"{proposal.id}-revert",
            rule=proposal.rule,
            playbook=proposal.playbook,
            alert=proposal.alert,
            target=proposal.target,
            diagnosis={
                "summary": f"validation of {proposal.id} failed; revert proposed",
                "category": "regression",
                "regressed": proposal.id,
                "workload": proposal.diagnosis.get("workload"),
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
            record_id=proposal.record_id,
            revert_of=proposal.id,
        )
    )
    if created:
        # The sinks' answers go in the same entry: one entry for the revert, as for a stored report.
        sinks = notify(context.settings.notify, parked, "regression: revert pending")
        context.records.append(
            proposal.record_id,
            "revert_proposed",
            {"proposal_id": parked.id, "plan": revert, "notified": sinks},
        )
    return parked


# -- jobs (RQ runs these; workers.runner.jobs lists them for the worker's allowlist) ------------------


def execute_job(proposal_id: str, attempt: int = 0) -> str:
    return execute(current(), proposal_id, attempt)


def execute_failed(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback (also for abandoned jobs): an execution that died is `unknown`, never retried."""
    proposal_id = job.args[0] if job.args else None
    if proposal_id:
        detail = f"execute job failed: {exc_type.__name__ if exc_type else ''} {exc_value or ''}".strip()
        mark_unknown(current(), proposal_id, detail)


def validate_job(proposal_id: str, round_: int = 0) -> str:
    return validate(current(), proposal_id, round_)


def expire_job() -> list[str]:
    return expire_pending(current())


def alert_resolved_job(alert: dict[str, Any]) -> list[str]:
    return supersede_for_alert(current(), alert)
