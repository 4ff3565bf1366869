"""The workflows the spine knows, by name, and the actions they implement.

The one module of the spine that imports workflows; everything else reaches a workflow through the
``Registry`` the context carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from workers.spine.plans import Action
from workers.spine.workflow import Workflow


@dataclass(frozen=True)
class Registry:
    """Workflows by name and their actions by name; an action belongs to one workflow."""

    workflows: Mapping[str, Workflow] = field(default_factory=dict)

    @classmethod
    def of(cls, workflows: Iterable[Workflow]) -> Registry:
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
        return cls(found)

    def workflow(self, name: str) -> Workflow:
        """The workflow a rule's ``playbook`` names; ``KeyError`` when there is none."""
        if name not in self.workflows:
            raise KeyError(f"no workflow {name!r}")
        return self.workflows[name]

    @property
    def actions(self) -> dict[str, Action]:
        """Every action of every workflow, by name."""
        return {
            name: action for workflow in self.workflows.values() for name, action in workflow.actions.items()
        }


def default_registry() -> Registry:
    """The product's workflows."""
    from workers.workflows import pod_failure

    return Registry.of([pod_failure.WORKFLOW])
