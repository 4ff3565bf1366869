"""Decisions on proposals: approve (then queue the execution) or reject; people's and rules' alike."""

from __future__ import annotations

from rq import Queue

from workers.errors import Conflict
from workers.spine import queues
from workers.spine.context import Context
from workers.spine.proposals import Proposal, iso, parse_iso


def _expire_if_due(context: Context, proposal_id: str) -> None:
    """A pending proposal past its expiry is expired now, even if the cron job has not run yet."""
    proposal = context.proposals.get(proposal_id)
    if proposal.status == "pending" and parse_iso(proposal.expires_at) <= context.clock():
        try:
            expired = context.proposals.transition(proposal_id, "expired", expect=["pending"])
        except Conflict:
            return
        context.records.append(expired.record_id, "expired", {"expires_at": expired.expires_at})


def _decide(
    context: Context, proposal_id: str, to: str, who: str, note: str | None, note_key: str, auto: bool = False
) -> Proposal:
    _expire_if_due(context, proposal_id)
    now = iso(context.clock())

    def mark(p: Proposal) -> None:
        p.decided_by, p.decided_at, p.comment = who, now, note

    proposal = context.proposals.transition(proposal_id, to, expect=["pending"], mutate=mark)
    entry: dict[str, object] = {"decision": to, "by": who, "at": now, note_key: note}
    if auto:
        entry["auto"] = True
    context.records.append(proposal.record_id, "approval", entry)
    return proposal


def approve(
    context: Context, proposal_id: str, who: str, comment: str | None, auto: bool = False
) -> Proposal:
    """Approve a pending proposal and queue its execution; ``Conflict`` if it is not pending."""
    proposal = _decide(context, proposal_id, "approved", who, comment, "comment", auto)
    enqueue_execute(context, proposal_id)
    return proposal


def reject(context: Context, proposal_id: str, who: str, reason: str | None) -> Proposal:
    """Reject a pending proposal; ``Conflict`` if it is not pending."""
    return _decide(context, proposal_id, "rejected", who, reason, "reason")


def enqueue_execute(context: Context, proposal_id: str) -> None:
    Queue(queues.ACTIONS, connection=context.redis).enqueue_call(
        "workers.runner.jobs.execute",
        args=(proposal_id,),
        job_id=f"execute-{proposal_id}",
        on_failure=queues.execute_failure_callback(),
        **queues.rq_options(queues.EXECUTE_OPTIONS),
    )
