"""US2 proactive scaling: sustained CPU → an HPA proposal checked against capacity and priced."""

from workers.workflows.scaling.workflow import ScalingWorkflow

WORKFLOW = ScalingWorkflow()
"""The workflow the registry lists (``workers.spine.registry``)."""

__all__ = ["WORKFLOW"]
