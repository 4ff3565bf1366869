"""Proposals and their store: the approval queue in Redis.

Every state change is a compare-and-set in Lua on (status, version), so racing approvers, replayed
jobs and several receiver replicas can never move a proposal twice; the legal moves are those of
``ProposalStatus.may_become``. A proposal is kept for the retention after its last status change; the
status indexes are scored by that time, so entries past the retention (whose proposal Redis has dropped)
are pruned before they are counted or listed.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import cast

import redis

from workers.clock import iso, parse_iso
from workers.domain import STATES, Proposal, ProposalStatus, Target
from workers.errors import Conflict, NotFound
from workers.integrations.redis.connection import as_text
from workers.redaction import redact_value

PREFIX = "aiops:proposal:"
STATUS_INDEX = "aiops:proposals:"
BY_ALERT = "aiops:proposals:by-alert:"
BY_TARGET = "aiops:proposals:by-target:"


def stored_doc(proposal: Proposal) -> str:
    """The JSON document kept in Redis: the proposal with secrets redacted (env values, tokens, keys),
    so that viewers, records and logs never see them; execution rebuilds exact plans from the cluster."""
    return json.dumps(redact_value(proposal.model_dump(mode="json")))


_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'status', ARGV[2], 'version', 1)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
if tonumber(ARGV[5]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  redis.call('EXPIRE', KEYS[4], ARGV[5])
end
return 1
"""

# KEYS[1] proposal; ARGV: expected version, new status, new doc, index prefix, id, score, retention
# A status change restarts the retention and scores the index entry with its time: they age out together.
_SWAP = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {-1, ''} end
local version = redis.call('HGET', KEYS[1], 'version')
if version ~= ARGV[1] then return {0, status} end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'status', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
if status ~= ARGV[2] then
  redis.call('ZREM', ARGV[4] .. status, ARGV[5])
  redis.call('ZADD', ARGV[4] .. ARGV[2], ARGV[6], ARGV[5])
  if tonumber(ARGV[7]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[7]) end
end
return {1, status}
"""


class ProposalStore:
    """Create, read, list and move proposals; every move is atomic."""

    def __init__(self, connection: redis.Redis, clock: Callable[[], datetime], retention_s: int) -> None:
        self.redis = connection
        self.clock = clock
        self.retention_s = retention_s
        self._create = connection.register_script(_CREATE)
        self._swap = connection.register_script(_SWAP)

    def create(self, proposal: Proposal) -> tuple[Proposal, bool]:
        """Store ``proposal`` (redacted); if one with its id exists already, return that one and False.

        The proposal returned is the stored, redacted one.
        """
        doc = stored_doc(proposal)
        created = self._create(
            keys=[
                PREFIX + proposal.id,
                STATUS_INDEX + proposal.status,
                BY_ALERT + proposal.alert.get("fingerprint", ""),
                BY_TARGET + proposal.target_of().key(),
            ],
            args=[
                doc,
                proposal.status,
                self.clock().timestamp(),
                proposal.id,
                self.retention_s,
            ],
        )
        if created:
            return Proposal.model_validate_json(doc), True
        return self.get(proposal.id), False

    def get(self, proposal_id_: str) -> Proposal:
        raw = self.redis.hget(PREFIX + proposal_id_, "doc")
        if raw is None:
            raise NotFound(f"no proposal {proposal_id_}")
        return Proposal.model_validate_json(raw)

    def _get_versioned(self, proposal_id_: str) -> tuple[Proposal, str]:
        doc, version = self.redis.hmget(PREFIX + proposal_id_, ["doc", "version"])
        if doc is None:
            raise NotFound(f"no proposal {proposal_id_}")
        return Proposal.model_validate_json(doc), as_text(version)

    def list(self, status: str | None = None, limit: int = 50) -> builtins.list[Proposal]:
        """Newest first (by last status change); all states when ``status`` is None."""
        statuses = [status] if status else list(STATES)
        self.prune(statuses)
        scored: builtins.list[tuple[float, str, str]] = []
        for state in statuses:
            # redis-py types every reply as ``Awaitable | Any`` (one signature for sync and async clients).
            entries = cast(
                builtins.list[tuple[bytes, float]],
                self.redis.zrevrange(STATUS_INDEX + state, 0, limit - 1, withscores=True),
            )
            scored.extend((float(score), as_text(member), state) for member, score in entries)
        scored.sort(reverse=True)
        found = []
        for _, pid, state in scored[:limit]:
            try:
                found.append(self.get(pid))
            except NotFound:
                self.redis.zrem(STATUS_INDEX + state, pid)  # dropped by Redis before its index entry aged out
        return found

    def prune(self, statuses: Iterable[str] = STATES) -> int:
        """Drop index entries older than the retention: Redis has dropped their proposals already."""
        if self.retention_s <= 0:
            return 0
        cutoff = self.clock().timestamp() - self.retention_s
        pipe = self.redis.pipeline(transaction=False)
        for state in statuses:
            pipe.zremrangebyscore(STATUS_INDEX + state, "-inf", cutoff)
        return sum(pipe.execute())

    def ids_for_alert(self, fingerprint: str) -> builtins.list[str]:
        return sorted(as_text(member) for member in self.redis.smembers(BY_ALERT + fingerprint))

    def any_for_alert(self, fingerprint: str) -> bool:
        """Whether any proposal was made for the alert (one EXISTS, for the webhook's hot path)."""
        return bool(self.redis.exists(BY_ALERT + fingerprint))

    def ids_for_target(self, target: Target) -> builtins.list[str]:
        return sorted(as_text(member) for member in self.redis.smembers(BY_TARGET + target.key()))

    def count_by_status(self) -> dict[str, int]:
        """Live proposals per state (entries past the retention are pruned first)."""
        self.prune()
        pipe = self.redis.pipeline(transaction=False)
        for state in STATES:
            pipe.zcard(STATUS_INDEX + state)
        return dict(zip(STATES, pipe.execute(), strict=True))

    def update(
        self, proposal_id_: str, mutate: Callable[[Proposal], None], expect: Iterable[str] | None = None
    ) -> Proposal:
        """Apply ``mutate`` to a fresh copy and store it, retrying on concurrent edits.

        ``expect`` lists the states the proposal must be in; otherwise ``Conflict``. A status change made
        by ``mutate`` must be a legal transition.
        """
        allowed = set(expect) if expect is not None else None
        for _ in range(50):
            current, version = self._get_versioned(proposal_id_)
            if allowed is not None and current.status not in allowed:
                raise Conflict(
                    f"proposal {proposal_id_} is {current.status}, not {'/'.join(sorted(allowed))}"
                )
            changed = current.model_copy(deep=True)
            mutate(changed)
            if changed.status != current.status:
                if not current.status.may_become(changed.status):
                    raise Conflict(
                        f"proposal {proposal_id_} cannot go from {current.status} to {changed.status}"
                    )
                changed.history.append(
                    {"at": iso(self.clock()), "from": str(current.status), "to": str(changed.status)}
                )
            doc = stored_doc(changed)
            ok, _ = self._swap(
                keys=[PREFIX + proposal_id_],
                args=[
                    version,
                    changed.status,
                    doc,
                    STATUS_INDEX,
                    proposal_id_,
                    self.clock().timestamp(),
                    self.retention_s,
                ],
            )
            if ok == 1:
                return Proposal.model_validate_json(doc)
            if ok == -1:
                raise NotFound(f"no proposal {proposal_id_}")
        raise Conflict(f"proposal {proposal_id_} is being changed too often; try again")

    def transition(
        self,
        proposal_id_: str,
        to: ProposalStatus,
        expect: Iterable[ProposalStatus],
        mutate: Callable[[Proposal], None] | None = None,
    ) -> Proposal:
        """Move to ``to`` only from one of ``expect``; exactly one racing caller wins."""

        def apply(proposal: Proposal) -> None:
            proposal.status = ProposalStatus(to)
            if mutate is not None:
                mutate(proposal)

        return self.update(proposal_id_, apply, expect=expect)

    def due_for_expiry(self, now: datetime, limit: int = 500) -> builtins.list[str]:
        due = []
        for member in self.redis.zrange(STATUS_INDEX + ProposalStatus.pending, 0, -1):
            pid = as_text(member)
            try:
                proposal = self.get(pid)
            except NotFound:
                continue
            if parse_iso(proposal.expires_at) <= now:
                due.append(pid)
            if len(due) >= limit:
                break
        return due
