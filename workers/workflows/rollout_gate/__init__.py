"""US4 rollout safety gate: watch a Deployment's new replicas, pause it when their error rate spikes."""

from workers.workflows.rollout_gate.workflow import RolloutGateWorkflow

WORKFLOW = RolloutGateWorkflow()
"""The workflow the registry lists (``workers.spine.registry``)."""

__all__ = ["WORKFLOW"]
