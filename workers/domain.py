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


class Severity(StrEnum):
    """One scale for every finding of every report, worst first."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        """0 for critical, 4 for info: sort by it to put the worst first."""
        return list(Severity).index(self)


class Finding(BaseModel):
    """One thing a report found, with what shows it and what to do about it."""

    check: str
    """The check's id, e.g. ``rbac.wildcard`` or ``pods.crashlooping``: stable across weeks."""
    title: str
    severity: Severity
    score: float = 0.0
    """Ranking within a severity: the check's base score times exposure; higher first."""
    namespace: str | None = None
    kind: str | None = None
    name: str | None = None
    message: str
    """What was found, in a sentence, naming the object."""
    remediation: str = ""
    """What to do, in a sentence or a command."""
    evidence: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> str:
        """What makes a finding "the same" next week: check and object."""
        return f"{self.check}:{self.kind or ''}/{self.namespace or ''}/{self.name or ''}"


class Section(BaseModel):
    """A part of a report (pods, nodes, RBAC, ...), with its own score and findings."""

    id: str
    title: str
    score: float | None = None
    """0 to 100, higher is better; None when the section could not be produced."""
    summary: dict[str, Any] = Field(default_factory=dict)
    """Summary figures a person reads first (counts, rates, percentiles)."""
    findings: list[Finding] = Field(default_factory=list)
    unavailable: str | None = None
    """Why the section is missing or partial (Prometheus unreachable, a list forbidden by RBAC)."""


class Report(BaseModel):
    """A stored report: the weekly health report, the weekly security audit, ..."""

    id: str
    kind: str
    """``health`` or ``security``."""
    period_start: str
    period_end: str
    generated_at: str
    score: float | None = None
    grade: str | None = None
    sections: list[Section] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    changes: dict[str, Any] = Field(default_factory=dict)
    """Against the previous report of the same kind: new and resolved findings, figures that moved."""
    record_id: str | None = None
    notes: list[str] = Field(default_factory=list)
    """What a reader must know about the report itself (trimmed to the size bound, inputs missing)."""
    excepted: list[Finding] = Field(default_factory=list)
    """Findings an accepted exception covers: listed apart, with the reason in ``evidence.exception``."""

    def findings(self) -> list[Finding]:
        """Every finding of every section, worst first."""
        found = [finding for section in self.sections for finding in section.findings]
        return sorted(found, key=lambda f: (f.severity.rank, -f.score))
