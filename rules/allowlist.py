"""The fixed vocabulary rules may use: playbooks, actions, evidence kinds and advisers.

Rules name actions by these names only; the workers package implements each one in code and a test
checks that the two stay in step. A rule can never name a shell command.
"""

from __future__ import annotations

from enum import StrEnum


class Risk(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        return ["low", "medium", "high"].index(self.value)


# Action name -> inherent risk. A rule may declare a higher risk, never a lower one.
ACTIONS: dict[str, Risk] = {
    "restart-pod": Risk.low,
    "raise-memory-limit": Risk.low,
    "adjust-probe": Risk.low,
    "rollback-deployment": Risk.medium,
    # US2 scaling
    "create-hpa": Risk.medium,
    "patch-hpa": Risk.medium,
    # US3 right-sizing
    "patch-resources": Risk.medium,
    # US4 rollout gate: the pause may be auto-approved by a rule; undo and resume always need a person
    "rollout-pause": Risk.low,
    "rollout-undo": Risk.medium,
    "rollout-resume": Risk.medium,
}

# "no safe automatic action": a proposal that changes nothing and carries a runbook.
NO_ACTION = "none"

PLAYBOOKS: frozenset[str] = frozenset({"pod-failure", "scaling", "rollout-gate", "rightsizing"})

KUBERNETES_EVIDENCE: frozenset[str] = frozenset({"pod", "previous_logs", "events", "owner", "node"})

ADVISERS: tuple[str, ...] = ("kubectl-ai", "kagent", "holmesgpt", "k8sgpt")
