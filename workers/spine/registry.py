"""The workflows the spine knows, by name, and the actions they implement.

The one module of the spine that imports workflows; everything else reaches a workflow through the
``Registry`` the context carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workers.spine.plans import Action
from workers.spine.workflow import ReportWorkflow, Workflow


@dataclass(frozen=True)
class Registry:
    """Workflows by name and their actions by name; an action belongs to one workflow."""

    workflows: Mapping[str, Workflow] = field(default_factory=dict)
    reports: Mapping[str, ReportWorkflow] = field(default_factory=dict)
    """Report workflows by the ``kind`` of report they build (``health``, ``security``)."""

    @classmethod
    def of(cls, workflows: Iterable[Workflow], reports: Iterable[ReportWorkflow] = ()) -> Registry:
        found: dict[str, Workflow] = {}
        owners: dict[str, str] = {}
        for workflow in workflows:
            if workflow.name in found:
                raise ValueError(f"two workflows are named {workflow.name!r}")
            for action in workflow.actions:
                if action in owners:
                    raise ValueError(
                        f"action {action!r} is implemented by {owners[action]} and {workflow.name}"
                    )
                owners[action] = workflow.name
            found[workflow.name] = workflow
        by_kind: dict[str, ReportWorkflow] = {}
        for report in reports:
            if report.kind in by_kind:
                raise ValueError(f"two report workflows build {report.kind!r} reports")
            by_kind[report.kind] = report
        return cls(found, by_kind)

    def workflow(self, name: str) -> Workflow:
        """The workflow a rule's ``playbook`` names; ``KeyError`` when there is none."""
        if name not in self.workflows:
            raise KeyError(f"no workflow {name!r}")
        return self.workflows[name]

    def report(self, kind: str) -> ReportWorkflow:
        """The workflow that builds ``kind`` reports; ``KeyError`` naming the known kinds when none does."""
        if kind not in self.reports:
            known = ", ".join(sorted(self.reports)) or "none"
            raise KeyError(f"no report workflow for {kind!r} (available: {known})")
        return self.reports[kind]

    @property
    def actions(self) -> dict[str, Action]:
        """Every action of every workflow, by name."""
        return {
            name: action for workflow in self.workflows.values() for name, action in workflow.actions.items()
        }


def default_registry() -> Registry:
    """The product's workflows."""
    from workers.workflows import health_report, pod_failure

    reports: list[ReportWorkflow] = [health_report.WORKFLOW]
    from workers.workflows import security_audit

    reports.append(security_audit.WORKFLOW)
    from workers.workflows import rightsizing, rollout_gate, scaling

    return Registry.of(
        [pod_failure.WORKFLOW, scaling.WORKFLOW, rollout_gate.WORKFLOW, rightsizing.WORKFLOW], reports
    )
