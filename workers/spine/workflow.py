"""The contract every workflow implements, and the shapes it hands to the spine.

A workflow says what to gather, how to diagnose, what to propose and which allowlisted actions it
implements; the spine parks, decides, executes, validates and records. Adding a workflow is one
package under ``workers/workflows/`` and one line in ``workers.spine.registry``
(docs/ARCHITECTURE.md, "Adding a workflow").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from workers.spine.plans import Action


class DiagnosisLike(Protocol):
    """What a workflow's diagnosis must offer the spine: its JSON form for the proposal and record."""

    def to_dict(self) -> dict[str, Any]: ...


class Draft(Protocol):
    """A workflow's proposal before the spine plans and parks it."""

    type: str
    """An allowlisted action (``rules.allowlist.ACTIONS``) or ``none``."""
    params: dict[str, Any]
    expected_outcome: str
    validation_plan: str
    runbook: str | None
    reasoning: str


class Workflow(Protocol):
    """One workflow: the rule's ``playbook`` names it."""

    name: str
    """The ``playbook`` value of the rules that run this workflow, e.g. ``pod-failure``."""
    actions: Mapping[str, Action]
    """The allowlisted actions this workflow implements, by name."""

    def diagnose(self, evidence: dict[str, Any]) -> DiagnosisLike:
        """The diagnosis of the gathered evidence; never raises for odd evidence."""
        ...

    def propose(self, diagnosis: Any, evidence: dict[str, Any], allowed_actions: list[str]) -> Draft:
        """One draft, using only ``allowed_actions`` (the rule's ``remediation.actions``)."""
        ...
