"""People's decisions on proposals: approve (then queue the execution) or reject."""

from __future__ import annotations

from workers.context import Context
from workers.errors import Conflict
from workers.investigation import enqueue_execute
from workers.proposals import Proposal, iso, parse_iso


def _expire_if_due(context: Context, proposal_id: str) -> None:
    """A pending proposal past its expiry is expired now, even if the cron job has not run yet."""
    proposal = context.proposals.get(proposal_id)
    if proposal.status == "pending" and parse_iso(proposal.expires_at) <= context.clock():
        try:
            expired = context.proposals.transition(proposal_id, "expired", expect=["pending"])
        except Conflict:
            return
        context.records.append(expired.record_id, "expired", {"expires_at": expired.expires_at})


def approve(context: Context, proposal_id: str, who: str, comment: str | None) -> Proposal:
    """Approve a pending proposal and queue its execution; ``Conflict`` if it is not pending."""
    _expire_if_due(context, proposal_id)
    now = iso(context.clock())

    def mark(p: Proposal) -> None:
        p.decided_by, p.decided_at, p.comment = who, now, comment

    proposal = context.proposals.transition(proposal_id, "approved", expect=["pending"], mutate=mark)
    context.records.append(
        proposal.record_id, "approval", {"decision": "approved", "by": who, "at": now, "comment": comment}
    )
    enqueue_execute(context, proposal_id)
    return proposal


def reject(context: Context, proposal_id: str, who: str, reason: str | None) -> Proposal:
    _expire_if_due(context, proposal_id)
    now = iso(context.clock())

    def mark(p: Proposal) -> None:
        p.decided_by, p.decided_at, p.comment = who, now, reason

    proposal = context.proposals.transition(proposal_id, "rejected", expect=["pending"], mutate=mark)
    context.records.append(
        proposal.record_id, "approval", {"decision": "rejected", "by": who, "at": now, "reason": reason}
    )
    return proposal
