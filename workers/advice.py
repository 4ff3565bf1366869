"""The follow-up job that consults AI advisers after a proposal is parked, and files their opinions.

The alert path never waits for an adviser: this runs on its own job, and each opinion is attached to
the proposal and the audit record as it comes. Suggestions that map to an allowlisted action are kept
as alternatives, which always need approval, whatever the rule says.
"""

from __future__ import annotations

from typing import Any

from workers.advisers.consult import consult, record_entries, suggested_actions
from workers.context import Context
from workers.proposals import Proposal


def attach_advice(context: Context, proposal_id: str, advisers: list[str], evidence: dict[str, Any]) -> int:
    """Consult ``advisers`` (the rule's ``evidence.ai``) and attach what they said.

    Returns how many advisers answered.
    """
    proposal = context.proposals.get(proposal_id)
    results = consult(
        advisers,
        alert=proposal.alert,
        target=proposal.target,
        evidence=evidence,
        diagnosis=proposal.diagnosis,
        settings=context.settings,
        redis=context.redis,
    )
    for entry in record_entries(results):
        context.records.append(proposal.record_id, entry["kind"], entry["data"])
    current_action = proposal.action.get("type")
    alternatives = [
        {
            "adviser": adviser,
            "action": rec.action,
            "command": rec.command,
            "text": rec.text,
            "risk": rec.risk,
            "approval": "required",
        }
        for adviser, rec in suggested_actions(results, _allowed(context, proposal))
        if rec.action != current_action
    ]

    def attach(p: Proposal) -> None:
        p.advice.extend(result.to_dict() for result in results)
        p.alternatives.extend(alternatives)

    context.proposals.update(proposal_id, attach)
    if alternatives:
        context.records.append(proposal.record_id, "alternatives", {"items": alternatives})
    return sum(1 for result in results if result.status.value in ("ok", "no_findings"))


def _allowed(context: Context, proposal: Proposal) -> list[str]:
    rule = context.rules.current.get(proposal.rule)
    return list(rule.remediation.actions) if rule is not None else []
