"""The contract every workflow implements, and the shapes it hands to the spine.

A workflow says what to gather, how to diagnose, what to propose and which allowlisted actions it
implements; the spine parks, decides, executes, validates and records. Adding a workflow is one
package under ``workers/workflows/`` and one line in ``workers.spine.registry``
(docs/ARCHITECTURE.md, "Adding a workflow").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from workers.domain import Report
from workers.settings import Settings
from workers.spine.plans import Action

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube
    from workers.integrations.prometheus.client import Prometheus
    from workers.spine.proposals import ProposalStore
    from workers.spine.records import RecordStore


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


@dataclass
class ProposalDraft:
    """The plain ``Draft`` most workflows hand the spine; a workflow subclasses it for its own defaults
    (its runbook)."""

    type: str
    params: dict[str, Any]
    expected_outcome: str
    validation_plan: str = ""
    runbook: str | None = None
    reasoning: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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


# --- reports (US5, US6) -------------------------------------------------------------------------------
# A report workflow reads the cluster (and Prometheus) and returns a ``workers.domain.Report``; the spine
# stores it (``workers.spine.reports``), serves it and notifies. It never writes to the cluster.


@dataclass(frozen=True)
class ReportInputs:
    """What a report workflow reads: the settings, the cluster, Prometheus (None: not configured) and
    the end of the period it reports on. ``options`` carries a workflow's own inputs (an exceptions file)."""

    settings: Settings
    kube: Kube
    prometheus: Prometheus | None
    now: datetime
    options: Mapping[str, Any] = field(default_factory=dict)
    records: RecordStore | None = None
    """The audit records (the scheduled run's; None for ``aiops report``, which reads no Redis)."""
    proposals: ProposalStore | None = None


class ReportWorkflow(Protocol):
    """One kind of stored report; ``aiops report KIND`` and the cron job reach it by ``kind``."""

    name: str
    """The workflow's package-style name, e.g. ``health-report``."""
    kind: str
    """The stored report's ``kind``: ``health`` or ``security``."""
    period_days: int
    """How far back the report looks from ``inputs.now``."""

    def build(self, inputs: ReportInputs, previous: Report | None) -> Report:
        """The report for the period ending at ``inputs.now``, compared with ``previous`` (the last stored
        report of this kind, or None). Degraded inputs become sections that say so: it never raises for
        a missing or forbidden source."""
        ...
