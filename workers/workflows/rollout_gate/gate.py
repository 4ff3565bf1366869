"""The gate's engine: start a gate, look at the rollout every few seconds, decide, park the actions.

Scheduling: each look is one short RQ job that re-enqueues itself with ``enqueue_in`` (the worker's
RQ scheduler, which moves due jobs every second). A bounded loop inside one job would hold a worker
for the whole window, and with one worker the auto-approved pause would queue behind the very job that
asked for it; short looks keep the worker free and a crash costs one look (RQ retries it), never the gate.
A look happens every ``check_every_s`` (2 s by default) and a failing one decides at once, so the
lag from a sample in Prometheus to the decision is the scrape interval plus about one look; rounds are
stored every ``interval_s`` (and at every decision).

Failing: ``rollout-pause`` is parked (auto-approved only when the rule says ``pause: auto``; low risk,
recorded as automatic) and, once it succeeded, ``rollout-undo`` and ``rollout-resume`` are parked for a
person: they are planned against the paused Deployment, so the pause does not make them moot.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from rq import Retry

from rules.allowlist import Risk
from rules.templating import render
from workers.clock import iso, parse_iso
from workers.domain import ProposalStatus, Target
from workers.errors import ActionRefused, AiopsError, Conflict, NotFound
from workers.integrations.notify.sinks import deliver, ui_link
from workers.spine import incidents, queues
from workers.spine.context import Context, current
from workers.spine.parking import park
from workers.workflows.rollout_gate import analysis, config, queries
from workers.workflows.rollout_gate.actions import PAUSE, RESUME, UNDO
from workers.workflows.rollout_gate.model import (
    Gate,
    GateDraft,
    GateState,
    JoinedAlert,
    Reading,
    Round,
    Trigger,
    Verdict,
)
from workers.workflows.rollout_gate.rollout import RolloutView, hash_of, revision_of, view
from workers.workflows.rollout_gate.store import GateStore

log = logging.getLogger(__name__)

PLAYBOOK = config.PLAYBOOK
LOOK_OPTIONS: dict[str, Any] = {
    "retry": Retry(max=3, interval=[1, 2, 5]),
    "job_timeout": 60,
    "result_ttl": 600,
    "failure_ttl": 7 * 86400,
}
DONE = frozenset({ProposalStatus.succeeded, ProposalStatus.validated, ProposalStatus.regressed})


def store_of(context: Context) -> GateStore:
    return GateStore(context.redis, context.clock, context.settings.proposals.retention_days * 86400)


def _workload(gate: Gate) -> Target:
    return Target(kind="Deployment", namespace=gate.namespace, name=gate.deployment)


# -- starting ------------------------------------------------------------------------------------


def start(
    context: Context,
    namespace: str,
    deployment: str,
    trigger: Trigger,
    requested_by: str | None = None,
    rule_name: str | None = None,
) -> Gate:
    """Start a gate for the Deployment's rollout in progress (or its next one).

    ``NotFound`` when the Deployment does not exist, ``ActionRefused`` for a denied namespace,
    ``Conflict`` when a gate is already active for it.
    """
    if not context.settings.namespaces.permits(namespace):
        raise ActionRefused(f"namespace {namespace} is denied by settings")
    current_view = view(context.kube, namespace, deployment)
    rule = config.rule_for(context.rules, namespace, deployment, rule_name)
    cfg = config.config_for(context.settings, rule)
    now = context.clock()
    gate_id = "g-" + uuid.uuid4().hex[:12]
    gate = Gate(
        id=gate_id,
        namespace=namespace,
        deployment=deployment,
        state=GateState.waiting,
        trigger=trigger,
        requested_by=requested_by,
        created_at=iso(now),
        updated_at=iso(now),
        config=cfg,
        record_id="r-" + gate_id,
        generation=current_view.generation,
    )
    if current_view.in_progress and not current_view.paused and current_view.new is not None:
        _begin(gate, current_view, now)
    else:
        gate.new_replicaset, gate.new_hash = current_view.new_name, hash_of(current_view.new)
        gate.deadline = iso(now + timedelta(seconds=context.settings.rollouts.wait_for_rollout_s))
    store_of(context).create(gate)
    context.records.open(
        gate.record_id,
        {"rule": cfg.rule or f"{trigger}:{PLAYBOOK}", "created_at": gate.created_at, "gate_id": gate.id},
    )
    workload = _workload(gate)
    context.records.set_meta(gate.record_id, target=workload.model_dump(), workload=workload.model_dump())
    context.records.append(
        gate.record_id,
        "gate_started",
        {
            "gate_id": gate.id,
            "trigger": str(trigger),
            "requested_by": requested_by,
            "state": str(gate.state),
            "new_replicaset": gate.new_replicaset,
            "old_replicaset": gate.old_replicaset,
            "config": cfg.model_dump(exclude={"validate_checks"}),
        },
    )
    # The gate holds its Deployment's incident: an alert about it while the gate runs joins this record.
    incidents.for_context(context).claim(
        PLAYBOOK, workload, gate.record_id, gate.id, f"gate-{gate.id}", cfg.rule or PLAYBOOK, 0
    )
    schedule(context, gate, 0)
    return gate


def _begin(gate: Gate, rollout: RolloutView, now: Any) -> None:
    gate.state = GateState.running
    gate.new_replicaset, gate.new_hash = rollout.new_name, hash_of(rollout.new)
    gate.old_replicaset, gate.old_hash = rollout.old_name, hash_of(rollout.old)
    gate.revision = revision_of(rollout.new) if rollout.new else None
    gate.generation = rollout.generation
    gate.deadline = iso(now + timedelta(seconds=gate.config.window_s))


def schedule(context: Context, gate: Gate, delay_s: float) -> None:
    q = queues.queue(queues.ACTIONS, context.redis)
    job_id = f"gate-{gate.id}-{gate.looks}"
    if delay_s <= 0:
        q.enqueue_call(look_job, args=(gate.id,), job_id=job_id, **queues.rq_options(LOOK_OPTIONS))
    else:
        q.enqueue_in(timedelta(seconds=delay_s), look_job, gate.id, job_id=job_id, **LOOK_OPTIONS)


# -- one look --------------------------------------------------------------------------------------


def look(context: Context, gate_id: str) -> str:
    """Look at the rollout once, decide if it is time, and schedule the next look; returns the state."""
    store = store_of(context)
    gate = store.get(gate_id)
    if gate.state.final:
        return gate.state
    gate.looks += 1
    _sync_alerts(context, gate)
    now = context.clock()
    if gate.state == GateState.halting:
        return _after_pause(context, gate)
    try:
        rollout = view(context.kube, gate.namespace, gate.deployment)
    except NotFound:
        return _finish(context, gate, GateState.aborted, "the deployment no longer exists")
    except AiopsError as exc:  # the API server in trouble: look again, the deadline still holds
        log.warning("gate %s cannot read deployment %s/%s: %s", gate.id, gate.namespace, gate.deployment, exc)
        return _next(context, store, gate)
    if rollout.paused:
        who = "a person (or another tool)"
        return _finish(context, gate, GateState.aborted, f"the rollout was paused by {who}: left alone")
    if gate.state == GateState.waiting:
        if rollout.new is not None and rollout.new_name != gate.new_replicaset:
            _begin(gate, rollout, now)
            context.records.append(
                gate.record_id,
                "rollout_seen",
                {"new_replicaset": gate.new_replicaset, "old_replicaset": gate.old_replicaset},
            )
        elif now >= parse_iso(gate.deadline or gate.created_at):
            return _finish(context, gate, GateState.aborted, "no rollout started while the gate waited")
        else:
            return _next(context, store, gate)
    if rollout.new_name != gate.new_replicaset:
        reason = f"a newer pod template (ReplicaSet {rollout.new_name}) replaced the one under analysis"
        return _finish(context, gate, GateState.aborted, reason)
    verdict, reason, new, old = _measure(context, gate)
    gate.checks += 1
    gate.last_verdict = verdict
    deadline = parse_iso(gate.deadline or gate.created_at)
    enough = gate.config.max_updated_replicas is not None and (
        rollout.updated_replicas >= gate.config.max_updated_replicas
    )
    over = now >= deadline or (enough and verdict == Verdict.healthy)
    last = gate.rounds[-1] if gate.rounds else None
    due = last is None or (now - parse_iso(last.at)).total_seconds() >= gate.config.interval_s - 0.5
    if due or verdict == Verdict.failing or over:
        _round(context, gate, verdict, reason, new, old, rollout)
    if verdict == Verdict.failing:
        return _halt(context, gate, rollout, reason)
    if over:
        if verdict == Verdict.healthy:
            why = "the updated-replica limit was reached" if now < deadline else "the whole window"
            return _finish(context, gate, GateState.continued, f"healthy for {why}: {reason}")
        if gate.config.pause_when_inconclusive:
            return _halt(context, gate, rollout, f"inconclusive at the deadline: {reason}")
        return _finish(context, gate, GateState.inconclusive, f"inconclusive at the deadline: {reason}")
    return _next(context, store, gate)


def _next(context: Context, store: GateStore, gate: Gate) -> str:
    gate.updated_at = iso(context.clock())
    store.save(gate)
    schedule(context, gate, gate.config.check_every_s)
    return gate.state


def _measure(context: Context, gate: Gate) -> tuple[Verdict, str, Reading, Reading]:
    def labels(rs: str | None) -> dict[str, Any]:
        return queries.labels_for(gate.namespace, gate.deployment, rs, gate.new_hash, gate.old_hash)

    try:
        new = queries.read(context.prometheus, gate.config, labels(gate.new_replicaset))
        old = queries.read(context.prometheus, gate.config, labels(gate.old_replicaset))
    except AiopsError as exc:
        verdict, reason = analysis.unreachable(str(exc))
        return verdict, reason, Reading(replicaset=gate.new_replicaset), Reading()
    verdict, reason = analysis.judge(new, old, gate.config)
    return verdict, reason, new, old


def _round(
    context: Context,
    gate: Gate,
    verdict: Verdict,
    reason: str,
    new: Reading,
    old: Reading,
    rollout: RolloutView,
) -> None:
    entry = Round(
        round=len(gate.rounds) + 1,
        at=iso(context.clock()),
        new_error_rate=new.error_ratio,
        old_error_rate=old.error_ratio,
        new_request_rate=new.request_rate,
        old_request_rate=old.request_rate,
        updated_replicas=rollout.updated_replicas,
        verdict=verdict,
        reason=reason,
    )
    gate.rounds.append(entry)
    context.records.append(gate.record_id, "analysis_round", entry.model_dump(mode="json"))


# -- deciding --------------------------------------------------------------------------------------


def _finish(context: Context, gate: Gate, state: GateState, reason: str) -> str:
    gate.state, gate.reason = state, reason
    gate.decision = f"{state}: {reason}"
    gate.updated_at = iso(context.clock())
    store_of(context).save(gate)
    context.records.append(
        gate.record_id,
        "gate_decision",
        {"gate_id": gate.id, "state": str(state), "reason": reason, "proposals": dict(gate.proposals)},
    )
    if not any(gate.proposals.values()):
        incidents.close(context, PLAYBOOK, _workload(gate), gate.record_id, f"gate {gate.id} {state}")
    _notify(context, gate, f"rollout gate {state}")
    return state


def _notify(context: Context, gate: Gate, event: str) -> None:
    settings = context.settings.notify
    link = ui_link(settings.public_url, f"/ui/rollouts/{gate.id}")
    body = {
        "event": event,
        "text": f"[aiops] {event}: Deployment {gate.namespace}/{gate.deployment} — {gate.reason}. {link}",
        "gate_id": gate.id,
        "state": str(gate.state),
        "link": link,
        "record_id": gate.record_id,
        "proposals": dict(gate.proposals),
    }
    sinks = deliver(settings, body)
    context.records.append(gate.record_id, "notification", {"event": event, "sinks": sinks})


def _draft(action: str, params: dict[str, Any], outcome: str, reasoning: str) -> GateDraft:
    return GateDraft(type=action, params=params, expected_outcome=outcome, reasoning=reasoning)


def _diagnosis(gate: Gate, reason: str) -> dict[str, Any]:
    return {
        "category": "rollout_failing",
        "summary": f"rollout of {gate.namespace}/{gate.deployment} halted: {reason}",
        "root_cause": reason,
        "confidence": 0.9,
        "gate_id": gate.id,
        "new_replicaset": gate.new_replicaset,
        "old_replicaset": gate.old_replicaset,
        "rounds": [r.model_dump(mode="json") for r in gate.rounds[-3:]],
        "workload": _workload(gate).model_dump(),
    }


def _park(context: Context, gate: Gate, action: str, suffix: str, reason: str, **extra: Any) -> str:
    workload = _workload(gate)
    params = {"deployment": gate.deployment, **extra}
    outcomes = {
        PAUSE: "the rollout stops: no more pods move to the new template",
        UNDO: f"the pods of ReplicaSet {gate.old_replicaset} serve again and the error rate falls "
        f"under {analysis.percent(gate.config.max_error_rate)}",
        RESUME: "the rollout goes on with the new template",
    }
    checks: list[dict[str, str]] = []
    if action == UNDO:
        variables = {"labels": queries.labels_for(gate.namespace, gate.deployment, None, None, None)}
        checks = [{"name": "target_ready", "kubernetes": "target_ready"}] + [
            {"name": f"error_rate_{i + 1}", "promql": render(check, variables)}
            for i, check in enumerate(gate.config.validate_checks)
        ]
    parked = park(
        context,
        proposal_id=f"p-{gate.id}{suffix}",
        record_id=gate.record_id,
        rule=gate.config.rule or f"{gate.trigger}:{PLAYBOOK}",
        playbook=PLAYBOOK,
        subject=workload.model_dump(),
        workload=workload,
        diagnosis=_diagnosis(gate, reason),
        draft=_draft(action, params, outcomes[action], reason),
        evidence={"owner": {"deployment": gate.deployment}},
        validation_plan={
            "after_s": gate.config.validate_after_s,
            "for_s": gate.config.validate_for_s,
            "checks": checks,
            "workload": {"namespace": gate.namespace, "deployment": gate.deployment},
            "described": "the Deployment is Ready on the restored template and its error rate is under "
            "the limit"
            if action == UNDO
            else "",
        },
        risk_floor=Risk.low,
        auto_approve=action == PAUSE and gate.config.auto_pause,
        expires_after_s=gate.config.expires_after_s,
        allowed_actions=gate.config.allowed_actions,
    )
    gate.proposals[action] = parked.proposal.id
    return parked.proposal.id


def _halt(context: Context, gate: Gate, rollout: RolloutView, reason: str) -> str:
    """Failing: park the pause at once; undo and resume follow once it ran (``_after_pause``)."""
    gate.state, gate.reason = GateState.halting, reason
    gate.decision = f"halting: {reason}"
    _park(context, gate, PAUSE, "", reason)
    context.records.append(
        gate.record_id,
        "gate_halting",
        {
            "reason": reason,
            "pause": gate.proposals.get(PAUSE),
            "automatic": gate.config.auto_pause,
            "updated_replicas": rollout.updated_replicas,
        },
    )
    gate.updated_at = iso(context.clock())
    store_of(context).save(gate)
    schedule(context, gate, min(1.0, gate.config.check_every_s))
    return gate.state


def _after_pause(context: Context, gate: Gate) -> str:
    pause_id = gate.proposals.get(PAUSE)
    try:
        pause = context.proposals.get(pause_id or "")
    except NotFound:
        return _finish(context, gate, GateState.aborted, "the pause proposal is gone")
    if pause.action.get("type") != PAUSE:
        detail = (pause.action.get("not_possible") or {}).get("reason") or "it could not be planned"
        return _finish(context, gate, GateState.aborted, f"the rollout could not be paused: {detail}")
    if pause.status in DONE:
        reason = gate.reason or "failing"
        old = gate.old_replicaset
        _park(context, gate, UNDO, "-undo", reason, **({"to_replicaset": old} if old else {}))
        _park(context, gate, RESUME, "-resume", reason)
        return _finish(context, gate, GateState.halted, reason)
    if pause.status.terminal or pause.status == ProposalStatus.unknown:
        return _finish(
            context, gate, GateState.aborted, f"the pause {pause.id} is {pause.status}; nothing was halted"
        )
    gate.updated_at = iso(context.clock())
    store_of(context).save(gate)
    schedule(context, gate, 1.0)
    return gate.state


def _sync_alerts(context: Context, gate: Gate) -> None:
    """Alerts that joined the gate's incident (``sibling_alert`` entries) become the gate's alerts."""
    known = {a.fingerprint for a in gate.alerts}
    try:
        entries = context.records.get(gate.record_id).get("entries") or []
    except NotFound:
        return
    for entry in entries:
        if entry.get("kind") != "sibling_alert":
            continue
        alert = (entry.get("data") or {}).get("alert") or {}
        if alert.get("fingerprint") in known:
            continue
        known.add(alert.get("fingerprint"))
        gate.alerts.append(
            JoinedAlert(
                fingerprint=alert.get("fingerprint"),
                alertname=(alert.get("labels") or {}).get("alertname"),
                startsAt=alert.get("startsAt"),
                joined_at=entry.get("at"),
            )
        )


# -- jobs ------------------------------------------------------------------------------------------


def start_job(namespace: str, deployment: str, requested_by: str) -> str | None:
    """The RQ job ``aiops watch`` queues for a new pod template: the gate's id, or None when one is
    already active or none can start (the watcher's Redis user only queues jobs)."""
    try:
        return start(current(), namespace, deployment, Trigger.watch, requested_by=requested_by).id
    except (Conflict, NotFound, ActionRefused) as exc:
        log.info("no gate started for %s/%s: %s", namespace, deployment, exc)
        return None


def look_job(gate_id: str) -> str:
    """The RQ job: one look at a gate's rollout (``workers.runner.jobs`` lists it)."""
    return look(current(), gate_id)
