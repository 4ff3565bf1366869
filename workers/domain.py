"""The spine's domain: a proposal, its states and legal moves, and the object it targets.

Every workflow parks the same ``Proposal``; only ``workers.spine.lifecycle`` moves it between states,
and the store refuses any move that ``ProposalStatus.may_become`` does not allow.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProposalStatus(StrEnum):
    """Where a proposal is in its life::

    pending -> approved -> executing -> succeeded -> validated | regressed
            \\-> rejected | expired | superseded      \\-> failed | unknown
    """

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    superseded = "superseded"
    executing = "executing"
    succeeded = "succeeded"
    failed = "failed"
    unknown = "unknown"
    validated = "validated"
    regressed = "regressed"

    def may_become(self, other: ProposalStatus) -> bool:
        """True when the move from this state to ``other`` is legal."""
        return other in TRANSITIONS.get(self, frozenset())

    @property
    def terminal(self) -> bool:
        """No move leaves this state."""
        return self not in TRANSITIONS


TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    ProposalStatus.pending: frozenset(
        {ProposalStatus.approved, ProposalStatus.rejected, ProposalStatus.expired, ProposalStatus.superseded}
    ),
    ProposalStatus.approved: frozenset({ProposalStatus.executing, ProposalStatus.superseded}),
    ProposalStatus.executing: frozenset(
        {ProposalStatus.succeeded, ProposalStatus.failed, ProposalStatus.unknown}
    ),
    ProposalStatus.succeeded: frozenset({ProposalStatus.validated, ProposalStatus.regressed}),
}
STATES: tuple[ProposalStatus, ...] = tuple(ProposalStatus)
TERMINAL = frozenset(state for state in ProposalStatus if state.terminal)

BUILTIN_SOURCE = "builtin"


def adviser_source(adviser: str) -> str:
    """The ``source`` of an alternative proposal an adviser suggested."""
    return f"adviser:{adviser}"


class Target(BaseModel):
    """The object an action changes (or, for a diagnosis, the object the alert is about)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    namespace: str
    name: str

    def key(self) -> str:
        """``Kind/namespace/name``: the one spelling used for indexes, locks and cooldowns."""
        return f"{self.kind}/{self.namespace}/{self.name}"

    @classmethod
    def of(cls, data: dict[str, Any]) -> Target:
        """A target from a rendered rule's or a plan's mapping."""
        return cls(kind=str(data["kind"]), namespace=str(data["namespace"]), name=str(data["name"]))


class Proposal(BaseModel):
    """A diagnosis and the action proposed for it, waiting for (or past) a decision."""

    id: str
    status: ProposalStatus = ProposalStatus.pending
    rule: str
    playbook: str
    """The workflow that made it (a rule's ``playbook``)."""
    alert: dict[str, Any]
    target: dict[str, str]
    """The object the diagnosis is about: ``kind``, ``namespace``, ``name`` (see ``target_of``)."""
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
    """Who proposed the action: ``builtin`` (the workflow) or ``adviser:<name>`` (an alternative)."""
    revert_of: str | None = None
    record_id: str
    history: list[dict[str, Any]] = Field(default_factory=list)

    def target_of(self) -> Target:
        """``target`` as a ``Target``."""
        return Target.of(self.target)

    def to_json(self) -> dict[str, Any]:
        """The proposal as the API serves it."""
        loaded: dict[str, Any] = json.loads(self.model_dump_json())
        return loaded
