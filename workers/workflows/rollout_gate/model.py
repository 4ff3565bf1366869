"""The shapes of a rollout gate: its state, its analysis rounds, its settings, the gate itself.

A gate watches one rollout of one Deployment: the new ReplicaSet (the current pod template) against
the old one (the previous revision). It is stored as one JSON document (``store.GateStore``) and served
as it is by ``GET /api/v1/rollouts/{id}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workers.spine.workflow import ProposalDraft

RUNBOOK = "docs/runbooks/rolling-update-failures.md"


@dataclass
class GateDraft(ProposalDraft):
    """A gate's proposal before the spine plans and parks it."""

    validation_plan: str = "the rollout's error rate, as the gate and the undo's checks read it"
    runbook: str | None = RUNBOOK


class GateState(StrEnum):
    """Where a gate is; the last five are final."""

    waiting = "waiting"
    """Asked for with no rollout in progress: it starts with the next new pod template."""
    running = "running"
    """Analysing the new ReplicaSet's first replicas."""
    halting = "halting"
    """Failing: the ``rollout-pause`` proposal is parked (or executing); undo and resume follow."""
    halted = "halted"
    """Paused by the gate; ``rollout-undo`` and ``rollout-resume`` wait for a person."""
    continued = "continued"
    """Healthy for the whole window (or up to the updated-replica limit): the rollout goes on."""
    inconclusive = "inconclusive"
    """Too few requests, no samples, or Prometheus down at the deadline: never a pass."""
    aborted = "aborted"
    """Ended without a verdict: the Deployment went away, a person paused it, a newer rollout replaced
    it, no rollout came, or the pause was refused."""

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def active(self) -> bool:
        """Holds the Deployment's gate slot (a second start is a conflict)."""
        return self in (GateState.waiting, GateState.running, GateState.halting)


FINAL = frozenset({GateState.halted, GateState.continued, GateState.inconclusive, GateState.aborted})


class Verdict(StrEnum):
    """One round's reading of the new ReplicaSet."""

    healthy = "healthy"
    failing = "failing"
    inconclusive = "inconclusive"


class Trigger(StrEnum):
    api = "api"
    watch = "watch"
    alert = "alert"


class Reading(BaseModel):
    """The rates of one ReplicaSet's pods at one moment (None: no sample)."""

    replicaset: str | None = None
    error_rate: float | None = None
    """5xx answers per second."""
    request_rate: float | None = None
    """All answers per second."""

    @property
    def error_ratio(self) -> float | None:
        """5xx share of the requests, or None without requests."""
        if self.error_rate is None or not self.request_rate:
            return None
        return self.error_rate / self.request_rate


class Round(BaseModel):
    """One stored analysis round."""

    round: int
    at: str
    new_error_rate: float | None = None
    """The new ReplicaSet's 5xx share (0.12 is 12 %)."""
    old_error_rate: float | None = None
    new_request_rate: float | None = None
    """Requests per second the new ReplicaSet served."""
    old_request_rate: float | None = None
    updated_replicas: int | None = None
    verdict: Verdict
    reason: str


class GateConfig(BaseModel):
    """The analysis settings in force for one gate (the rule over the ``rollouts`` settings)."""

    model_config = ConfigDict(frozen=True)

    rule: str | None = None
    window_s: int = 120
    interval_s: float = 10.0
    check_every_s: float = 2.0
    max_error_rate: float = 0.05
    max_increase: float | None = None
    min_request_rate: float = 0.1
    max_updated_replicas: int | None = None
    auto_pause: bool = False
    pause_when_inconclusive: bool = False
    error_rate_query: str
    request_rate_query: str
    validate_after_s: int = 60
    validate_for_s: int = 300
    validate_checks: list[str] = Field(default_factory=list)
    """PromQL templates the undo's validation runs (the rule's ``validate.checks``)."""
    expires_after_s: int = 3600
    allowed_actions: list[str] | None = None
    """The rule's ``remediation.actions`` (None without a rule: the three gate actions)."""


class JoinedAlert(BaseModel):
    fingerprint: str | None = None
    alertname: str | None = None
    startsAt: str | None = None
    joined_at: str | None = None


class Gate(BaseModel):
    """One gate: what it watches, how, what it read and what it decided."""

    id: str
    namespace: str
    deployment: str
    state: GateState
    trigger: Trigger
    requested_by: str | None = None
    created_at: str
    updated_at: str
    deadline: str | None = None
    """When the analysis window ends (set when the rollout is seen)."""
    revision: int | None = None
    new_replicaset: str | None = None
    new_hash: str | None = None
    old_replicaset: str | None = None
    old_hash: str | None = None
    generation: int | None = None
    config: GateConfig
    rounds: list[Round] = Field(default_factory=list)
    decision: str | None = None
    """What the gate decided, in words (``halted: new ReplicaSet error rate 12.0 % > 5.0 %``)."""
    reason: str | None = None
    proposals: dict[str, str] = Field(default_factory=dict)
    """Parked proposals by action: ``rollout-pause``, ``rollout-undo``, ``rollout-resume``."""
    alerts: list[JoinedAlert] = Field(default_factory=list)
    """Alerts that fired during the gate and joined it instead of starting another."""
    record_id: str
    checks: int = 0
    """Looks at Prometheus so far (rounds are stored every ``interval_s``)."""
    looks: int = 0
    """Looks so far, Prometheus or not: each look's job has its own id."""
    last_verdict: Verdict | None = None

    def brief(self) -> dict[str, Any]:
        """The listing's shape: everything but the rounds, with the last one."""
        data = self.model_dump(mode="json", exclude={"rounds", "config"})
        data["rounds"] = len(self.rounds)
        data["last_round"] = self.rounds[-1].model_dump(mode="json") if self.rounds else None
        return data
