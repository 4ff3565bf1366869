"""One package per workflow, each implementing ``workers.spine.workflow.Workflow``."""
