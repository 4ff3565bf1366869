"""Incidents: one per workload, opened by the first alert about any of its pods and joined by the rest.

A workload's open incident is one Redis key per workflow,
``aiops:incident:workload:{workflow}:{Kind/ns/name}`` (a crash-looping Deployment and its CPU running hot
are two incidents), holding the id of the record of the investigation that opened it (its proposal is
``p-`` where the record is ``r-``).
It is claimed in one Lua script together with the rule's cooldown for that workload, so that racing
workers on sibling alerts open it exactly once; the others append their evidence to its record. Beside it,
``…:firing`` holds the fingerprints of the incident's alerts, and the hash
``aiops:incident:alert:{fingerprint}`` points from each alert to its incidents (one per workflow), so that
a resolved alert finds them.

The incident ends when its proposals are all in a final state (``follow``, called by the lifecycle on every
move), when every one of its alerts resolved, or when nothing kept it open for ``alerts.incident_window_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import redis

from workers.domain import Proposal, ProposalStatus, Target
from workers.errors import NotFound
from workers.integrations.redis.connection import as_text
from workers.spine.context import Context

PREFIX = "aiops:incident:workload:"
ALERT_PREFIX = "aiops:incident:alert:"
COOLDOWN_PREFIX = "aiops:cooldown:"


class Claim(StrEnum):
    """What an investigation is to its workload's incident."""

    opened = "opened"
    """It opened the incident (or is the opener, run again): it investigates and proposes."""
    joined = "joined"
    """Another investigation opened it: this one adds its pod's evidence to that record, no proposal."""
    cooling_down = "cooling_down"
    """It opened the incident, but the rule is cooling down for the workload: nothing is proposed."""


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    record_id: str
    """The incident's record."""
    cooldown_holder: str | None = None
    """The investigation holding the rule's cooldown (``cooling_down`` only)."""

    @property
    def proposal_id(self) -> str:
        return proposal_id_of(self.record_id)


@dataclass(frozen=True)
class Resolved:
    """A resolved alert's incident: which it is and how many of its alerts still fire."""

    workflow: str
    workload: Target
    record_id: str
    still_firing: int


def key(workflow: str, workload: Target) -> str:
    """The incident of ``workload`` for ``workflow`` (a rule's ``playbook``)."""
    return f"{PREFIX}{workflow}:{workload.key()}"


def alert_key(fingerprint: str) -> str:
    return ALERT_PREFIX + fingerprint


def cooldown_key(rule: str, workload: Target) -> str:
    return f"{COOLDOWN_PREFIX}{rule}:{workload.key()}"


def proposal_id_of(record_id: str) -> str:
    """The proposal an investigation parks, from its record's id (both carry the investigation id)."""
    return "p-" + record_id.removeprefix("r-")


# KEYS: incident, firing set, alert marker, cooldown. ARGV: record id, investigation id, window (s),
# cooldown (s, 0 = none), fingerprint. Returns {claim, incident record id, cooldown holder}.
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
local function member(record)
  redis.call('SADD', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  redis.call('HSET', KEYS[3], KEYS[1], record)
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
if holder and holder ~= ARGV[1] then
  member(holder)
  return {'joined', holder, ''}
end
if tonumber(ARGV[4]) > 0 then
  local cooling = redis.call('GET', KEYS[4])
  if cooling and cooling ~= ARGV[2] then
    if not holder then
      local ttl = redis.call('TTL', KEYS[4])
      if ttl < 1 then ttl = 1 end
      if ttl > tonumber(ARGV[3]) then ttl = tonumber(ARGV[3]) end
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
    end
    member(ARGV[1])
    return {'cooling_down', ARGV[1], cooling}
  end
  if not cooling then redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[4]) end
end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) end
member(ARGV[1])
return {'opened', ARGV[1], ''}
"""

# KEYS: incident, firing set. ARGV: record id, window (s).
_TOUCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""

# KEYS: incident, firing set. ARGV: record id.
_CLOSE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""

# KEYS: alert marker, incident, firing set. ARGV: fingerprint, record id.
# -2: the marker changed meanwhile; -1: the incident it names is over; else the alerts still firing.
_RESOLVE = """
if redis.call('HGET', KEYS[1], KEYS[2]) ~= ARGV[2] then return -2 end
redis.call('HDEL', KEYS[1], KEYS[2])
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end
redis.call('SREM', KEYS[3], ARGV[1])
return redis.call('SCARD', KEYS[3])
"""


class IncidentStore:
    """Claim, keep, resolve and close workload incidents; every step is one atomic script."""

    def __init__(self, connection: redis.Redis, window_s: int) -> None:
        self.redis = connection
        self.window_s = window_s
        self._claim = connection.register_script(_CLAIM)
        self._touch = connection.register_script(_TOUCH)
        self._close = connection.register_script(_CLOSE)
        self._resolve = connection.register_script(_RESOLVE)

    def claim(
        self,
        workflow: str,
        workload: Target,
        record_id: str,
        investigation: str,
        fingerprint: str,
        rule: str,
        cooldown_s: int,
    ) -> ClaimResult:
        """Open ``workload``'s incident for ``record_id``, or join the one that is open."""
        incident = key(workflow, workload)
        answer: Any = self._claim(
            keys=[incident, incident + ":firing", alert_key(fingerprint), cooldown_key(rule, workload)],
            args=[record_id, investigation, self.window_s, max(0, cooldown_s), fingerprint],
        )
        claim, holder, cooling = (as_text(part) for part in answer)
        return ClaimResult(Claim(claim), holder, cooling or None)

    def holder(self, workflow: str, workload: Target) -> str | None:
        """The record of ``workload``'s open incident, if one is open."""
        raw = self.redis.get(key(workflow, workload))
        return as_text(raw) if raw else None

    def touch(self, workflow: str, workload: Target, record_id: str) -> bool:
        """Keep the incident open for another window (if ``record_id`` still holds it)."""
        incident = key(workflow, workload)
        return bool(self._touch(keys=[incident, incident + ":firing"], args=[record_id, self.window_s]))

    def close(self, workflow: str, workload: Target, record_id: str) -> bool:
        """End the incident (if ``record_id`` still holds it); the next alert opens a new one."""
        incident = key(workflow, workload)
        return bool(self._close(keys=[incident, incident + ":firing"], args=[record_id]))

    def resolve(self, fingerprint: str) -> list[Resolved]:
        """The alert ``fingerprint`` resolved: it leaves its open incidents, which are returned."""
        marker = alert_key(fingerprint)
        found = []
        for raw_incident, raw_record in self.redis.hgetall(marker).items():
            incident, record_id = as_text(raw_incident), as_text(raw_record)
            left = int(
                self._resolve(keys=[marker, incident, incident + ":firing"], args=[fingerprint, record_id])
            )
            if left < 0:
                continue
            workflow, _, workload_key = incident.removeprefix(PREFIX).partition(":")
            kind, namespace, name = [*workload_key.split("/", 2), "", ""][:3]
            workload = Target(kind=kind, namespace=namespace, name=name)
            found.append(Resolved(workflow, workload, record_id, left))
        return found


def in_incident(connection: Any, fingerprint: str) -> bool:
    """Whether the alert is part of an incident (one EXISTS, for the webhook's hot path)."""
    return bool(connection.exists(alert_key(fingerprint)))


def for_context(context: Context) -> IncidentStore:
    return IncidentStore(context.redis, context.settings.alerts.incident_window_s)


def workload_of(proposal: Proposal) -> Target:
    """The workload whose incident ``proposal`` belongs to (its target, for proposals made before
    incidents were)."""
    workload = (proposal.diagnosis or {}).get("workload")
    if isinstance(workload, dict) and {"kind", "namespace", "name"} <= set(workload):
        return Target.of(workload)
    return proposal.target_of()


def proposals_of(context: Context, record_id: str) -> list[Proposal]:
    """The incident's proposals: the one it parked, and the alternatives and reverts beside it."""
    try:
        main = context.proposals.get(proposal_id_of(record_id))
    except NotFound:
        return []
    ids = {main.id, *(str(item.get("proposal_id")) for item in main.alternatives)}
    targets = {main.target_of()}
    for pid in sorted(ids - {main.id}):
        try:
            targets.add(context.proposals.get(pid).target_of())
        except NotFound:
            continue
    found = {}
    for target in sorted(targets, key=Target.key):  # each one's revert is parked for the same target
        for pid in context.proposals.ids_for_target(target):
            try:
                other = context.proposals.get(pid)
            except NotFound:
                continue
            if other.record_id == record_id:
                found[other.id] = other
    return [found[pid] for pid in sorted(found)]


def _keeps_open(proposal: Proposal) -> bool:
    # A regression parks the revert right after its move: the incident waits for the revert.
    if proposal.status == ProposalStatus.regressed:
        return bool((proposal.execution or {}).get("revert_plan"))
    return not proposal.status.terminal


def follow(context: Context, proposal: Proposal) -> None:
    """After ``proposal`` moved: keep its incident open while it is in play, end it once none of the
    incident's proposals is."""
    store, workflow, workload = for_context(context), proposal.playbook, workload_of(proposal)
    if store.holder(workflow, workload) != proposal.record_id:
        return
    if _keeps_open(proposal):
        store.touch(workflow, workload, proposal.record_id)
        return
    others = [p for p in proposals_of(context, proposal.record_id) if p.id != proposal.id]
    if any(not p.status.terminal for p in others):
        return
    close(context, workflow, workload, proposal.record_id, f"proposal {proposal.id} is {proposal.status}")


def close(context: Context, workflow: str, workload: Target, record_id: str, reason: str) -> bool:
    """End the incident and say so in its record; False when ``record_id`` no longer held it."""
    if not for_context(context).close(workflow, workload, record_id):
        return False
    context.records.append(
        record_id,
        "incident_closed",
        {
            "workload": workload.model_dump(),
            "reason": reason,
            "detail": "the next alert opens a new incident",
        },
    )
    return True
