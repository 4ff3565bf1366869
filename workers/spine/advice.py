"""The follow-up job that consults AI advisers after a proposal is parked, and files their opinions.

The alert path never waits for an adviser: this runs on its own queue, and the opinions are attached
to the proposal and the audit record when they arrive. A suggestion that maps to an allowlisted action
the rule allows, on the same target, is parked as an alternative proposal of its own. Alternatives
always need approval, whatever the rule says, and never reach beyond the workload that was diagnosed.
An alternative says so: its ``source`` is ``adviser:<name>``, its summary "alternative suggested by ...".
"""

from __future__ import annotations

from typing import Any

from rules import allowlist
from rules.allowlist import Risk
from workers.domain import Proposal, adviser_source
from workers.errors import ActionRefused, NotFound
from workers.integrations.advisers.base import Recommendation
from workers.integrations.advisers.consult import consult, record_entries, suggested_actions
from workers.integrations.notify.sinks import notify
from workers.spine import lifecycle
from workers.spine.context import Context, current

MAX_ALTERNATIVES = 3


def attach_advice(context: Context, proposal_id: str, advisers: list[str], evidence: dict[str, Any]) -> int:
    """Consult ``advisers`` (the rule's ``evidence.ai``), attach what they said, park alternatives.

    Returns how many advisers answered.
    """
    proposal = context.proposals.get(proposal_id)
    results = consult(
        advisers,
        alert=proposal.alert,
        target=subject_of(proposal),
        evidence=evidence,
        diagnosis=proposal.diagnosis,
        settings=context.settings,
        redis=context.redis,
    )
    for entry in record_entries(results):
        context.records.append(proposal.record_id, entry["kind"], entry["data"])
    suggestions = [
        (adviser, rec)
        for adviser, rec in suggested_actions(results, _allowed(context, proposal))
        if rec.action != proposal.action.get("type")
    ]
    parked = _park_alternatives(context, proposal, evidence, suggestions)

    def attach(p: Proposal) -> None:
        p.advice.extend(result.to_dict() for result in results)
        p.alternatives.extend(parked)

    context.proposals.update(proposal_id, attach)
    return sum(1 for result in results if result.status.value in ("ok", "no_findings"))


def subject_of(proposal: Proposal) -> dict[str, str]:
    """What the alert is about (the alert's pod), which advisers are asked about; a proposal's target is
    the object its action changes (``workers.spine.incidents``)."""
    subject = proposal.diagnosis.get("subject")
    return {key: str(subject[key]) for key in ("kind", "namespace", "name")} if subject else proposal.target


def _allowed(context: Context, proposal: Proposal) -> list[str]:
    rule = context.rules.current.get(proposal.rule)
    return list(rule.remediation.actions) if rule is not None else []


def _params_for(rec: Recommendation, proposal: Proposal, evidence: dict[str, Any]) -> dict[str, Any]:
    """Our action's parameters from an adviser's command; refuses anything beyond the diagnosed target."""
    params = dict(rec.params)
    target = subject_of(proposal)
    if params.get("namespace") and params["namespace"] != target["namespace"]:
        raise ActionRefused(f"suggestion is for namespace {params['namespace']}, not {target['namespace']}")
    owner = (evidence.get("owner") or {}).get("deployment")
    if rec.action == "restart-pod":
        if params.get("pod") != target["name"]:
            raise ActionRefused(
                f"suggestion deletes pod {params.get('pod')}, not the diagnosed {target['name']}"
            )
        return {}
    if params.get("deployment") and params["deployment"] != owner:
        raise ActionRefused(f"suggestion is for deployment {params['deployment']}, not {owner}")
    if rec.action == "rollback-deployment":
        return {
            "deployment": owner,
            **({"to_revision": params["to_revision"]} if "to_revision" in params else {}),
        }
    if rec.action == "raise-memory-limit":
        container = params.get("container") or proposal.diagnosis.get("container")
        if not container or not params.get("memory"):
            raise ActionRefused("suggestion names no container or memory value")
        return {"deployment": owner, "container": container, "memory_limit": params["memory"]}
    raise ActionRefused(f"no parameters can be read for {rec.action} from the suggestion")


def _park_alternatives(
    context: Context,
    proposal: Proposal,
    evidence: dict[str, Any],
    suggestions: list[tuple[str, Recommendation]],
) -> list[dict[str, Any]]:
    parked: list[dict[str, Any]] = []
    for index, (adviser, rec) in enumerate(suggestions):
        if len(parked) >= MAX_ALTERNATIVES or rec.action is None:
            break
        summary = {"adviser": adviser, "action": rec.action, "command": rec.command, "text": rec.text}
        try:
            params = _params_for(rec, proposal, evidence)
            action = context.workflows.actions[rec.action]
            plan = action.plan(context.kube, subject_of(proposal), params, evidence)
        except (ActionRefused, NotFound, KeyError) as exc:
            context.records.append(
                proposal.record_id, "alternative_not_parked", {**summary, "reason": str(exc)}
            )
            continue
        inherent = allowlist.ACTIONS.get(rec.action, Risk.medium)
        alternative = lifecycle.new_proposal(
            context,
            id=f"{proposal.id}-alt-{index}",
            rule=proposal.rule,
            playbook=proposal.playbook,
            alert=proposal.alert,
            target={key: str(getattr(plan, key)) for key in ("kind", "namespace", "name")},
            diagnosis={
                **proposal.diagnosis,
                "summary": f"alternative suggested by {adviser}: {rec.text}"[:500],
                "suggested_by": adviser,
            },
            action={
                "type": rec.action,
                "params": params,
                "plan": plan.to_dict(),
                "runbook": None,
                "reasoning": f"suggested by {adviser}: {rec.text}",
                "command": rec.command,
            },
            risk=max(inherent, Risk.medium, key=lambda risk: risk.rank).value,
            approval="required",
            expected_outcome=f"as {adviser} suggests: {rec.text}"[:500],
            validation_plan=proposal.validation_plan,
            record_id=proposal.record_id,
            source=adviser_source(adviser),
        )
        alternative, created = context.proposals.create(alternative)
        if created:
            context.records.append(
                proposal.record_id,
                "alternative_proposed",
                {**summary, "proposal_id": alternative.id, "plan": plan.to_dict()},
            )
            sinks = notify(context.settings.notify, alternative, "alternative proposal pending")
            context.records.append(
                proposal.record_id,
                "notification",
                {"event": "alternative_pending", "proposal_id": alternative.id, "sinks": sinks},
            )
        parked.append({**summary, "proposal_id": alternative.id, "approval": "required"})
    return parked


def advise_job(proposal_id: str, advisers: list[str], evidence: dict[str, Any]) -> int:
    """The RQ job (queue ``advice``): consult, attach, park alternatives."""
    return attach_advice(current(), proposal_id, advisers, evidence)
