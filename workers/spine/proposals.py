"""Proposals and their store: the approval queue in Redis.

Every state change is a compare-and-set in Lua on (status, version), so racing approvers, replayed
jobs and several receiver replicas can never move a proposal twice. A proposal is kept for the
retention after its last status change; the status indexes are scored by that time, so entries past the
retention (whose proposal Redis has dropped) are pruned before they are counted or listed. Allowed moves::

    pending -> approved -> executing -> succeeded -> validated | regressed
            \\-> rejected | expired | superseded      \\-> failed | unknown
"""

from __future__ import annotations

import builtins
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from pydantic import BaseModel, Field

from workers.errors import Conflict, NotFound
from workers.integrations.redis.connection import as_text
from workers.redaction import redact_value

PREFIX = "aiops:proposal:"
STATUS_INDEX = "aiops:proposals:"
BY_ALERT = "aiops:proposals:by-alert:"
BY_TARGET = "aiops:proposals:by-target:"

STATES = (
    "pending",
    "approved",
    "rejected",
    "expired",
    "superseded",
    "executing",
    "succeeded",
    "failed",
    "unknown",
    "validated",
    "regressed",
)
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"approved", "rejected", "expired", "superseded"}),
    "approved": frozenset({"executing", "superseded"}),
    "executing": frozenset({"succeeded", "failed", "unknown"}),
    "succeeded": frozenset({"validated", "regressed"}),
}
TERMINAL = frozenset(STATES) - frozenset(TRANSITIONS)
BUILTIN_SOURCE = "builtin"


def adviser_source(adviser: str) -> str:
    """The ``source`` of an alternative proposal an adviser suggested."""
    return f"adviser:{adviser}"


class Proposal(BaseModel):
    """A diagnosis and the action proposed for it, waiting for (or past) a decision."""

    id: str
    status: str = "pending"
    rule: str
    playbook: str
    alert: dict[str, Any]
    target: dict[str, str]
    diagnosis: dict[str, Any] = Field(default_factory=dict)
    action: dict[str, Any] = Field(default_factory=dict)
    risk: str = "medium"
    approval: str = "required"
    expected_outcome: str = ""
    validation_plan: dict[str, Any] = Field(default_factory=dict)
    created_at: str
    expires_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    comment: str | None = None
    execution: dict[str, Any] = Field(default_factory=dict)
    validation: dict[str, Any] = Field(default_factory=dict)
    advice: list[dict[str, Any]] = Field(default_factory=list)
    alternatives: list[dict[str, Any]] = Field(default_factory=list)
    source: str = BUILTIN_SOURCE
    """Who proposed the action: ``builtin`` (the playbook) or ``adviser:<name>`` (an alternative)."""
    revert_of: str | None = None
    record_id: str
    history: list[dict[str, Any]] = Field(default_factory=list)


def stored_doc(proposal: Proposal) -> str:
    """The JSON document kept in Redis: the proposal with secrets redacted (env values, tokens, keys),
    so that viewers, records and logs never see them; execution rebuilds exact plans from the cluster."""
    return json.dumps(redact_value(proposal.model_dump(mode="json")))


def proposal_id(rule: str, fingerprint: str, starts_at: str, suffix: str = "") -> str:
    """Deterministic id: a replayed investigation finds the proposal it already made."""
    digest = hashlib.sha256(f"{rule}\x00{fingerprint}\x00{starts_at}\x00{suffix}".encode()).hexdigest()
    return "p-" + digest[:20]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def target_key(target: dict[str, str]) -> str:
    return f"{target.get('kind')}/{target.get('namespace')}/{target.get('name')}"


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
                BY_TARGET + target_key(proposal.target),
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
            entries: Any = self.redis.zrevrange(STATUS_INDEX + state, 0, limit - 1, withscores=True)
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

    def ids_for_target(self, target: dict[str, str]) -> builtins.list[str]:
        return sorted(as_text(member) for member in self.redis.smembers(BY_TARGET + target_key(target)))

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
                if changed.status not in TRANSITIONS.get(current.status, frozenset()):
                    raise Conflict(
                        f"proposal {proposal_id_} cannot go from {current.status} to {changed.status}"
                    )
                changed.history.append(
                    {"at": iso(self.clock()), "from": current.status, "to": changed.status}
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
        to: str,
        expect: Iterable[str],
        mutate: Callable[[Proposal], None] | None = None,
    ) -> Proposal:
        """Move to ``to`` only from one of ``expect``; exactly one racing caller wins."""

        def apply(proposal: Proposal) -> None:
            proposal.status = to
            if mutate is not None:
                mutate(proposal)

        return self.update(proposal_id_, apply, expect=expect)

    def due_for_expiry(self, now: datetime, limit: int = 500) -> builtins.list[str]:
        due = []
        for member in self.redis.zrange(STATUS_INDEX + "pending", 0, -1):
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


def expiry_after(now: datetime, seconds: int) -> str:
    return iso(now + timedelta(seconds=seconds))


def to_json(proposal: Proposal) -> dict[str, Any]:
    return json.loads(proposal.model_dump_json())
