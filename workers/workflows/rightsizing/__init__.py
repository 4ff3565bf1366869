"""US3 resource right-sizing: 7+ days of usage → requests and limits with a >= 30 % margin, backtested."""

from workers.workflows.rightsizing.workflow import RightsizingWorkflow

WORKFLOW = RightsizingWorkflow()
"""The workflow the registry lists (``workers.spine.registry``)."""

__all__ = ["WORKFLOW"]
