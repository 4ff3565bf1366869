"""The ``rollout-gate`` workflow as the spine sees it: the actions, and what an alert's investigation does.

A gate is started by ``POST /api/v1/rollouts`` or by ``aiops watch``; an error-rate alert about a
Deployment (``AIOpsRolloutErrorRate``) reaches ``diagnose`` through the rule's investigation. While a gate
holds the Deployment's incident, such an alert joins it before any diagnosis (``workers.spine.incidents``);
otherwise ``diagnose`` starts a gate for the rollout in progress, and the proposal is ``none``: the gate
decides and parks its own actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.errors import AiopsError
from workers.spine.plans import Action
from workers.workflows.rollout_gate import actions
from workers.workflows.rollout_gate.model import GateDraft, Trigger


@dataclass
class GateDiagnosis:
    summary: str
    root_cause: str
    confidence: float = 0.5
    gate: dict[str, Any] = field(default_factory=dict)
    category: str = "rollout"

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "summary": self.summary,
            "root_cause": self.root_cause,
            "confidence": self.confidence,
            "gate": self.gate,
        }


def gate_for_alert(context: Any, target: dict[str, Any]) -> GateDiagnosis:
    """Join the Deployment's active gate, or start one when a rollout is in progress."""
    from workers.workflows.rollout_gate import gate as engine
    from workers.workflows.rollout_gate.rollout import view

    namespace, name = str(target.get("namespace") or ""), str(target.get("name") or "")
    if target.get("kind") != "Deployment" or not namespace or not name:
        reason = f"the rollout gate needs a Deployment target, not {target}"
        return GateDiagnosis("no rollout to gate", reason, 1.0)
    store = engine.store_of(context)
    active = store.active_for(namespace, name)
    if active is not None:
        return GateDiagnosis(
            f"the alert joined gate {active.id}", f"gate {active.id} is {active.state}", 1.0, active.brief()
        )
    try:
        if not view(context.kube, namespace, name).in_progress:
            reason = f"deployment {namespace}/{name} has no rollout in progress: no gate started"
            return GateDiagnosis("no rollout in progress", reason, 0.8)
        started = engine.start(context, namespace, name, Trigger.alert)
    except AiopsError as exc:
        return GateDiagnosis("no gate started", str(exc), 0.5)
    return GateDiagnosis(
        f"gate {started.id} started for the rollout of {namespace}/{name}",
        "an error-rate alert fired during a rollout",
        0.9,
        started.brief(),
    )


class RolloutGateWorkflow:
    """Gate plain Deployments' rollouts (see docs/runbooks/rolling-update-failures.md)."""

    name = "rollout-gate"
    actions: Mapping[str, Action] = actions.ACTIONS

    def diagnose(self, evidence: dict[str, Any]) -> GateDiagnosis:
        from workers.spine.context import current

        try:
            context = current()
        except RuntimeError as exc:
            return GateDiagnosis("no worker context", str(exc), 0.0)
        return gate_for_alert(context, evidence.get("target") or {})

    def propose(
        self, diagnosis: GateDiagnosis, evidence: dict[str, Any], allowed_actions: list[str]
    ) -> GateDraft:
        gate_id = diagnosis.gate.get("id")
        where = f"gate {gate_id} decides and parks its own actions" if gate_id else diagnosis.root_cause
        return GateDraft(
            type="none",
            params={},
            expected_outcome="nothing changes from this alert",
            validation_plan="nothing to validate",
            reasoning=where,
        )
