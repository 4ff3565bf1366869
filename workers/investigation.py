"""Investigate one alert for one rule: evidence, diagnosis, a planned action, a parked proposal.

Idempotent: the proposal id is derived from (rule, fingerprint, startsAt), so a job that runs again
after a crash finds the proposal it made and stops; it never parks a second one.
"""

from __future__ import annotations

from typing import Any

from rq import Queue

from rules.allowlist import ACTIONS as ACTION_RISKS
from rules.allowlist import NO_ACTION, Risk
from rules.matcher import effective_risk
from rules.render import render_rule
from workers import counters, queues
from workers.actions.catalog import ACTIONS
from workers.advisers.redaction import redact_value
from workers.advisers.registry import disabled_reason
from workers.connections import as_text
from workers.context import Context
from workers.decisions import approve
from workers.errors import ActionRefused, Conflict, NotFound
from workers.evidence.gather import gather, summary
from workers.intake import investigation_id
from workers.notify import notify
from workers.playbooks import get_playbook
from workers.proposals import Proposal, expiry_after, iso

COOLDOWN_PREFIX = "aiops:cooldown:"


def _alert_brief(alert: dict[str, Any]) -> dict[str, Any]:
    return {
        key: alert.get(key)
        for key in ("fingerprint", "status", "startsAt", "labels", "annotations", "source")
    }


def _claim_cooldown(context: Context, rule: Any, target: dict[str, str], investigation: str) -> str | None:
    """None when this investigation may go on; else the id of the one holding the cooldown."""
    seconds = int(getattr(rule, "cooldown_s", 0) or 0)
    if seconds <= 0:
        return None
    key = f"{COOLDOWN_PREFIX}{rule.name}:{target['kind']}/{target['namespace']}/{target['name']}"
    if context.redis.set(key, investigation, nx=True, ex=seconds):
        return None
    holder = context.redis.get(key)
    holder_id = as_text(holder) if holder else ""
    return None if holder_id == investigation else holder_id


def _workload(
    target: dict[str, str], evidence: dict[str, Any], plan: dict[str, Any] | None
) -> dict[str, str] | None:
    deployment = None
    if plan and plan.get("kind") == "Deployment":
        deployment = plan["name"]
    elif evidence.get("owner"):
        deployment = evidence["owner"].get("deployment")
    if not deployment:
        return None
    return {"namespace": target["namespace"], "deployment": deployment}


def investigate(context: Context, alert: dict[str, Any], rule_name: str) -> str | None:
    """Run the investigation; returns the proposal id, or None when nothing was proposed."""
    inv = investigation_id(rule_name, alert)
    pid, rid = f"p-{inv}", f"r-{inv}"
    records = context.records
    rule = context.rules.current.get(rule_name)
    records.open(
        rid,
        {
            "rule": rule_name,
            "alertname": alert["labels"].get("alertname"),
            "fingerprint": alert["fingerprint"],
            "created_at": iso(context.clock()),
        },
    )
    try:
        existing = context.proposals.get(pid)
    except NotFound:
        existing = None
    if existing is not None:
        records.append(
            rid,
            "replayed",
            {
                "detail": "investigation ran again; its proposal already exists",
                "proposal_id": pid,
                "status": existing.status,
            },
        )
        return pid
    records.append(rid, "alert_received", {"alert": _alert_brief(alert)})
    if rule is None:
        records.append(rid, "skipped", {"reason": f"rule {rule_name} is no longer loaded"})
        return None
    rendered = render_rule(rule, alert)
    target = dict(rendered.target)
    records.set_meta(rid, target=target)
    records.append(
        rid,
        "rule_matched",
        {
            "rule": rule.name,
            "playbook": rule.playbook,
            "target": target,
            "rules_version": context.rules.current.version,
        },
    )
    if not context.settings.namespaces.permits(target["namespace"]):
        records.append(rid, "skipped", {"reason": f"namespace {target['namespace']} is denied by settings"})
        return None
    holder = _claim_cooldown(context, rule, target, inv)
    if holder is not None:
        records.append(
            rid,
            "skipped",
            {"reason": f"rule {rule.name} is cooling down for this target", "holder": f"p-{holder}"},
        )
        counters.increment(context.redis, "investigations_skipped_total", reason="cooldown")
        return None
    evidence = gather(
        context.kube,
        context.prometheus,
        target,
        list(rule.evidence.kubernetes),
        dict(rendered.queries),
        context.settings.limits,
    )
    for name, query in evidence["queries"].items():
        records.append(
            rid, "evidence_query", {"name": name, "query": query, "value": evidence["metrics"].get(name)}
        )
    records.append(rid, "evidence", summary(evidence))
    if target["kind"] == "Pod" and evidence.get("pod") is None and "pod" in rule.evidence.kubernetes:
        records.append(
            rid, "target_gone", {"detail": f"pod {target['namespace']}/{target['name']} not found"}
        )
        return None
    playbook = get_playbook(rule.playbook)
    diagnosis = playbook.diagnose(evidence)
    records.append(rid, "diagnosis", diagnosis.to_dict())
    proposed = playbook.propose(diagnosis, evidence, list(rule.remediation.actions))
    action = _plan_action(context, target, proposed, evidence, rid)
    proposal = _build_proposal(
        context, rule, rendered, alert, pid, rid, target, evidence, diagnosis, action, proposed
    )
    proposal, created = context.proposals.create(proposal)
    if not created:
        return pid
    counters.increment(context.redis, "proposals_created_total", action=action["type"])
    records.set_meta(rid, proposal_id=pid)
    records.append(
        rid,
        "proposal",
        {
            "proposal_id": pid,
            "action": action,
            "risk": proposal.risk,
            "approval": proposal.approval,
            "expires_at": proposal.expires_at,
            "expected_outcome": proposal.expected_outcome,
        },
    )
    _supersede_older(context, proposal)
    records.append(
        rid,
        "notification",
        {"event": "proposal_pending", "sinks": notify(context.settings.notify, proposal, "proposal pending")},
    )
    if proposal.approval == "auto":
        # Rules may auto-approve low-risk actions; the approval is recorded as such.
        approve(
            context, proposal.id, f"auto:{proposal.rule}", "auto-approved: rule allows low risk", auto=True
        )
    wanted = list(rule.evidence.ai)
    not_consulted = {name: disabled_reason(name, context.settings.advisers) for name in wanted}
    if any(not reason for reason in not_consulted.values()):
        Queue(queues.ADVICE, connection=context.redis).enqueue_call(
            "workers.jobs.consult_advisers",
            args=(pid, list(rule.evidence.ai), redact_value(evidence)),
            job_id=f"advise-{inv}",
            # The job outlives the adviser budget, so RQ never kills it (and its CLIs) mid-consultation.
            **queues.rq_options(
                {**queues.ADVISE_OPTIONS, "job_timeout": int(context.settings.advisers.budget_s) + 120}
            ),
        )
    elif wanted:
        # No adviser of the rule's list is set up: say so once, instead of a job that only says it again.
        records.append(rid, "advice_skipped", {"advisers": not_consulted})
    return pid


def _plan_action(
    context: Context, target: dict[str, str], proposed: Any, evidence: dict[str, Any], rid: str
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": proposed.type,
        "params": dict(proposed.params or {}),
        "plan": None,
        "runbook": getattr(proposed, "runbook", None),
        "reasoning": getattr(proposed, "reasoning", ""),
    }
    if proposed.type == NO_ACTION:
        return action
    try:
        plan = ACTIONS[proposed.type].plan(context.kube, target, action["params"], evidence)
    except (ActionRefused, NotFound, KeyError) as exc:
        context.records.append(rid, "action_not_possible", {"action": proposed.type, "reason": str(exc)})
        action.update({"type": NO_ACTION, "not_possible": {"action": proposed.type, "reason": str(exc)}})
        return action
    action["plan"] = plan.to_dict()
    return action


def _build_proposal(
    context: Context,
    rule: Any,
    rendered: Any,
    alert: dict[str, Any],
    pid: str,
    rid: str,
    target: dict[str, str],
    evidence: dict[str, Any],
    diagnosis: Any,
    action: dict[str, Any],
    proposed: Any,
) -> Proposal:
    risk = effective_risk(rule)
    inherent = ACTION_RISKS.get(action["type"], Risk.low)
    if inherent.rank > risk.rank:
        risk = inherent
    approval = (
        "auto"
        if (rule.remediation.approval == "auto" and risk == Risk.low and action["type"] != NO_ACTION)
        else "required"
    )
    now = context.clock()
    expires_s = int(
        getattr(rule.remediation, "expires_after_s", 0) or context.settings.proposals.default_expires_after_s
    )
    checks = [dict(check) for check in rendered.checks] or [
        {"kubernetes": "target_ready"},
        {"kubernetes": "restarts_stable"},
    ]
    validation_plan = {
        "after_s": int(rule.validate_.after_s),
        "for_s": int(rule.validate_.for_s),
        "checks": checks,
        "workload": _workload(target, evidence, action.get("plan")),
        "described": getattr(proposed, "validation_plan", ""),
    }
    return Proposal(
        id=pid,
        rule=rule.name,
        playbook=rule.playbook,
        alert=_alert_brief(alert),
        target=target,
        diagnosis=diagnosis.to_dict(),
        action=action,
        risk=risk.value,
        approval=approval,
        expected_outcome=getattr(proposed, "expected_outcome", ""),
        validation_plan=validation_plan,
        created_at=iso(now),
        expires_at=expiry_after(now, expires_s),
        record_id=rid,
    )


def _supersede_older(context: Context, proposal: Proposal) -> None:
    for other in context.proposals.ids_for_target(proposal.target):
        if other == proposal.id:
            continue
        try:
            old = context.proposals.transition(
                other,
                "superseded",
                expect=["pending"],
                mutate=lambda p: setattr(p, "comment", f"superseded by newer proposal {proposal.id}"),
            )
        except (Conflict, NotFound):
            continue  # only pending ones are superseded; the rest stay as they are
        context.records.append(old.record_id, "superseded", {"by": proposal.id})
