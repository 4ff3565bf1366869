"""What a playbook hands on: a ``Diagnosis`` (category, confidence, cited evidence) and a ``ProposedAction``.

Both are plain dataclasses that round-trip through JSON-ready dicts (``to_dict``/``from_dict``), because
they are stored in the proposal and the audit record and read back by the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Citation:
    """One line of evidence: where it came from and what it says."""

    source: str
    """Where the line is, e.g. ``pod.status.containerStatuses[app].lastState.terminated``, ``logs/app``,
    ``events``, ``prometheus:memory_peak_bytes``, ``owner.revisions``, ``node/node-1``."""
    text: str
    """The evidence itself: a log line, an event, ``reason=OOMKilled exitCode=137``."""

    def to_dict(self) -> dict[str, str]:
        """The citation as ``{"source", "text"}``."""
        return {"source": self.source, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        """Build a citation from ``to_dict`` output."""
        return cls(source=str(data["source"]), text=str(data["text"]))


@dataclass
class Diagnosis:
    """The classifier's conclusion about one failing pod."""

    category: str
    """Root-cause category: ``oom_killed``, ``bad_config``, ..., ``unknown``."""
    summary: str
    """One sentence for a notification or a list view."""
    root_cause: str
    """What the evidence says, strongest signal first."""
    confidence: float
    """0..1: how strongly the evidence supports ``category`` over the alternatives."""
    container: str | None = None
    """The container the diagnosis is about (an init container for ``init_container_failure``)."""
    citations: list[Citation] = field(default_factory=list)
    """Every evidence line that supports the diagnosis."""
    started_with_revision: bool = False
    """True when the failure began right after the current Deployment revision rolled out and that
    revision changed the image, command, args or env of the pod template."""
    revision: dict[str, Any] | None = None
    """The revision check: ``current``, ``previous``, ``rolled_out_at``, ``first_failure``, ``changes``,
    ``deployment``; None when the pod has no Deployment owner."""
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    """Other categories with some support: ``{"category", "score", "container"}``, strongest first."""
    decided_by: dict[str, Any] | None = None
    """The evidence that decided the category: ``{"signal", "category", "source", "text", "weight",
    "level"}`` (``level`` for a log line: the severity it was logged at); None for ``unknown``."""
    discounted: list[dict[str, Any]] = field(default_factory=list)
    """Signals set aside or weighed down, and why: ``{"signal", "category", "source", "text", "why",
    "weight"}`` -- probe failures after the process's own exit, generic crash reports beside a specific
    terminal message, lines the process outlived or logged below error level, the restart back-off."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "category": self.category,
            "summary": self.summary,
            "root_cause": self.root_cause,
            "confidence": self.confidence,
            "container": self.container,
            "citations": [citation.to_dict() for citation in self.citations],
            "started_with_revision": self.started_with_revision,
            "revision": self.revision,
            "alternatives": [dict(item) for item in self.alternatives],
            "decided_by": dict(self.decided_by) if self.decided_by else None,
            "discounted": [dict(item) for item in self.discounted],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        """Build a diagnosis from ``to_dict`` output; fields added later default when absent."""
        return cls(
            category=str(data["category"]),
            summary=str(data.get("summary", "")),
            root_cause=str(data.get("root_cause", "")),
            confidence=float(data.get("confidence", 0.0)),
            container=data.get("container"),
            citations=[Citation.from_dict(item) for item in data.get("citations") or []],
            started_with_revision=bool(data.get("started_with_revision", False)),
            revision=data.get("revision"),
            alternatives=[dict(item) for item in data.get("alternatives") or []],
            decided_by=dict(data["decided_by"]) if data.get("decided_by") else None,
            discounted=[dict(item) for item in data.get("discounted") or []],
        )


@dataclass
class ProposedAction:
    """A remediation to park for approval, or ``type="none"`` with the runbook a person should follow."""

    type: str
    """An action name from ``rules.allowlist.ACTIONS``, or ``"none"``."""
    params: dict[str, Any]
    """Exact action parameters, e.g. ``{"container": "app", "memory_limit": "384Mi", ...}``."""
    risk: str
    """``low``, ``medium`` or ``high``: the action's inherent risk from the allowlist."""
    expected_outcome: str
    """What should be true once the action has run."""
    validation_plan: str
    """How the outcome is checked after the action (or why there is nothing to check)."""
    runbook: str | None = None
    """Docs path of the runbook section for this failure, e.g. ``docs/runbooks/oomkilled.md``."""
    reasoning: str = ""
    """Why this action, with the arithmetic where there is some."""
    steps: list[str] = field(default_factory=list)
    """Manual steps for a person, most useful when ``type`` is ``"none"``."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {
            "type": self.type,
            "params": dict(self.params),
            "risk": self.risk,
            "expected_outcome": self.expected_outcome,
            "validation_plan": self.validation_plan,
            "runbook": self.runbook,
            "reasoning": self.reasoning,
            "steps": list(self.steps),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProposedAction:
        """Build a proposal from ``to_dict`` output."""
        return cls(
            type=str(data["type"]),
            params=dict(data.get("params") or {}),
            risk=str(data.get("risk", "low")),
            expected_outcome=str(data.get("expected_outcome", "")),
            validation_plan=str(data.get("validation_plan", "")),
            runbook=data.get("runbook"),
            reasoning=str(data.get("reasoning", "")),
            steps=[str(step) for step in data.get("steps") or []],
        )
