"""Park a workflow's draft as a pending proposal: plan its action, store it once, record, notify.

The one way a proposal enters the queue, whoever made it: an alert's investigation
(``workers.spine.investigation``), an approver's request (``POST /api/v1/rightsizing``) or a running
gate (US4). The caller opens the audit record; ``park`` appends to it.

Idempotent: the caller derives ``proposal_id`` from what caused it, so a job that runs again finds the
proposal it parked and returns it with ``created=False``; nothing is recorded or sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules import allowlist
from rules.allowlist import NO_ACTION, Risk
from workers.domain import Proposal, Target
from workers.errors import ActionRefused, NotFound
from workers.integrations.notify.sinks import notify
from workers.spine import counters, lifecycle
from workers.spine.context import Context
from workers.spine.workflow import Draft

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parked:
    proposal: Proposal
    created: bool
    """False when a proposal with this id already existed (a replayed job): nothing was done again."""


def plan_action(
    context: Context, target: dict[str, str], draft: Draft, evidence: dict[str, Any], record_id: str
) -> dict[str, Any]:
    """The proposal's ``action``: the draft with its plan, or ``none`` with why the plan was refused."""
    action: dict[str, Any] = {
        "type": draft.type,
        "params": dict(draft.params or {}),
        "plan": None,
        "runbook": getattr(draft, "runbook", None),
        "reasoning": getattr(draft, "reasoning", ""),
    }
    if draft.type == NO_ACTION:
        return action
    try:
        implementation = context.workflows.actions[draft.type]
        plan = implementation.plan(context.kube, target, action["params"], evidence)
    except (ActionRefused, NotFound, KeyError) as exc:
        context.records.append(record_id, "action_not_possible", {"action": draft.type, "reason": str(exc)})
        action.update({"type": NO_ACTION, "not_possible": {"action": draft.type, "reason": str(exc)}})
        return action
    action["plan"] = plan.to_dict()
    return action


def changed_object(plan: dict[str, Any] | None, workload: Target) -> dict[str, str]:
    """A proposal's target: the object its plan changes, or the workload when it changes nothing."""
    if plan:
        return {key: str(plan[key]) for key in ("kind", "namespace", "name")}
    return {"kind": workload.kind, "namespace": workload.namespace, "name": workload.name}


def effective_risk(action_type: str, floor: Risk) -> Risk:
    """The higher of the caller's (the rule's) risk and the action's inherent one."""
    inherent = allowlist.ACTIONS.get(action_type, Risk.low)
    return max(floor, inherent, key=lambda r: r.rank)


def park(
    context: Context,
    *,
    proposal_id: str,
    record_id: str,
    rule: str,
    playbook: str,
    subject: dict[str, str],
    workload: Target,
    diagnosis: dict[str, Any],
    draft: Draft,
    evidence: dict[str, Any],
    validation_plan: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
    alert: dict[str, Any] | None = None,
    risk_floor: Risk = Risk.low,
    auto_approve: bool = False,
    expires_after_s: int | None = None,
    allowed_actions: list[str] | None = None,
) -> Parked:
    """Plan ``draft`` against ``subject`` and park it as proposal ``proposal_id`` in ``record_id``.

    ``auto_approve`` is honoured only when the effective risk is low and there is an action: the
    approval is then recorded as automatic (``lifecycle.approve(..., auto=True)``) and the execution
    queued like any other. ``allowed_actions``, when given, is the caller's allowlist (a rule's
    ``remediation.actions``): a draft outside it is parked as ``none`` with the reason.
    ``validation_plan`` may be a function of the planned action (its ``plan`` names the object changed).
    """
    try:
        return Parked(context.proposals.get(proposal_id), False)
    except NotFound:
        pass
    if allowed_actions is not None and draft.type != NO_ACTION and draft.type not in allowed_actions:
        reason = f"{rule} does not allow {draft.type}"
        context.records.append(record_id, "action_not_possible", {"action": draft.type, "reason": reason})
        action: dict[str, Any] = {
            "type": NO_ACTION,
            "params": {},
            "plan": None,
            "runbook": getattr(draft, "runbook", None),
            "reasoning": getattr(draft, "reasoning", ""),
            "not_possible": {"action": draft.type, "reason": reason},
        }
    else:
        action = plan_action(context, subject, draft, evidence, record_id)
    risk = effective_risk(str(action["type"]), risk_floor)
    auto = auto_approve and risk == Risk.low and action["type"] != NO_ACTION
    proposal = lifecycle.new_proposal(
        context,
        expires_after_s,
        id=proposal_id,
        rule=rule,
        playbook=playbook,
        alert=alert or {},
        target=changed_object(action.get("plan"), workload),
        diagnosis={**diagnosis, "subject": dict(subject)} if "subject" not in diagnosis else diagnosis,
        action=action,
        risk=risk.value,
        approval="auto" if auto else "required",
        expected_outcome=getattr(draft, "expected_outcome", ""),
        validation_plan=validation_plan(action) if callable(validation_plan) else validation_plan,
        record_id=record_id,
    )
    proposal, created = context.proposals.create(proposal)
    if not created:
        return Parked(proposal, False)
    counters.increment(context.redis, "proposals_created_total", action=proposal.action["type"])
    context.records.set_meta(record_id, proposal_id=proposal.id)
    context.records.append(
        record_id,
        "proposal",
        {
            "proposal_id": proposal.id,
            "target": proposal.target,
            "action": proposal.action,
            "risk": proposal.risk,
            "approval": proposal.approval,
            "expires_at": proposal.expires_at,
            "expected_outcome": proposal.expected_outcome,
        },
    )
    lifecycle.supersede_older(context, proposal)
    sinks = notify(context.settings.notify, proposal, "proposal pending")
    context.records.append(record_id, "notification", {"event": "proposal_pending", "sinks": sinks})
    if auto:
        # Only what the caller's rule marks auto-approvable and is low risk: the approval says so.
        lifecycle.approve(
            context, proposal.id, f"auto:{rule}", "auto-approved: rule allows low risk", auto=True
        )
    return Parked(proposal, True)
