"""Executions on one object take turns: a lock per object, held from the guard check to the last step.

Without it two approved proposals for one Deployment, run by two workers at once, could both pass the
guard and both apply. With it the second waits, then finds the object changed by the first: its plan is
moot (``workers.spine.lifecycle.supersede_moot``). Also the pure helpers that decide mootness.
"""

from __future__ import annotations

from typing import Any

from workers.domain import Proposal, Target
from workers.errors import NotFound
from workers.integrations.redis.connection import as_text
from workers.spine import queues
from workers.spine.context import Context

PREFIX = "aiops:lock:execute:"
TTL_S = int(queues.EXECUTE_OPTIONS["job_timeout"]) + 60
"""A lock outlives the longest execution; a worker that dies is noticed sooner (``execute_failed``)."""
WAIT_DELAYS_S = (1, 2, 5, 10, 30, 60)
"""How long an execution waits, attempt by attempt, for the one holding the object to finish."""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def plan_object(plan: dict[str, Any] | None) -> Target | None:
    """The object a stored plan changes."""
    if not plan or not plan.get("kind") or not plan.get("name"):
        return None
    return Target(kind=str(plan["kind"]), namespace=str(plan.get("namespace") or ""), name=str(plan["name"]))


def guard_stale(guard: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether a plan's guard no longer holds for the object as a change left it (``after``: its metadata)."""
    return any(value is not None and str(after.get(key)) != str(value) for key, value in guard.items())


def take(context: Context, obj: Target, proposal_id: str) -> str | None:
    """Take ``obj``'s turn for ``proposal_id``; None when taken, else the proposal holding it."""
    key = PREFIX + obj.key()
    if context.redis.set(key, proposal_id, nx=True, ex=TTL_S):
        return None
    raw = context.redis.get(key)
    holder = as_text(raw) if raw else None
    return None if holder == proposal_id else holder  # its own, from a run that died before executing


def give_back(context: Context, obj: Target, proposal_id: str) -> None:
    """End ``proposal_id``'s turn on ``obj`` (a turn another proposal holds is left alone)."""
    context.redis.register_script(_RELEASE)(keys=[PREFIX + obj.key()], args=[proposal_id])


def wait_delay(attempt: int) -> int:
    return WAIT_DELAYS_S[min(attempt, len(WAIT_DELAYS_S) - 1)]


def others_on(context: Context, obj: Target, exclude: str) -> list[Proposal]:
    """The other proposals whose plans change ``obj``."""
    found = []
    for pid in context.proposals.ids_for_target(obj):
        if pid == exclude:
            continue
        try:
            other = context.proposals.get(pid)
        except NotFound:
            continue
        if plan_object(other.action.get("plan")) == obj:
            found.append(other)
    return found
