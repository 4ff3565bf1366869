"""US1 pod failure: evidence of a failing pod, a deterministic diagnosis, and the fix it leads to."""

from workers.workflows.pod_failure.playbook import PodFailurePlaybook

WORKFLOW = PodFailurePlaybook()
"""The workflow the registry lists (``workers.spine.registry``)."""

__all__ = ["WORKFLOW"]
