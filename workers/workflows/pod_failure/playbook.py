"""The built-in ``pod-failure`` playbook: CrashLoopBackOff, OOMKilled and stuck containers.

It diagnoses with the deterministic classifier (``classifier``) and proposes one allowlisted
action, or ``none`` with a runbook. It needs no AI tool, so it is also the fallback when none is
reachable; advisers' opinions are attached to the record separately.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.spine.plans import Action
from workers.workflows.pod_failure import actions
from workers.workflows.pod_failure.classifier import classify
from workers.workflows.pod_failure.model import Diagnosis, ProposedAction
from workers.workflows.pod_failure.remedies import propose


class PodFailurePlaybook:
    """Diagnose a failing pod and propose a fix (see docs/runbooks/crashloopbackoff.md)."""

    name = "pod-failure"
    actions: Mapping[str, Action] = actions.ACTIONS

    def diagnose(self, evidence: dict[str, Any]) -> Diagnosis:
        """Classify the failure from the evidence dict."""
        return classify(evidence)

    def propose(
        self, diagnosis: Diagnosis, evidence: dict[str, Any], allowed_actions: list[str]
    ) -> ProposedAction:
        """One proposal, limited to the actions the rule allows."""
        return propose(diagnosis, evidence, allowed_actions)
