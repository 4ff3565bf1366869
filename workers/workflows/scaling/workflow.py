"""The ``scaling`` workflow: sustained CPU on a Deployment → an HPA proposal, checked and priced.

``diagnose`` reads the cluster and Prometheus (``evidence.gather``) and runs the engine
(``analysis.analyse``); ``propose`` turns its answer into ``create-hpa``, ``patch-hpa`` or ``none``
with the reason and the runbook. The rule's evidence may carry ``target_utilization`` (a PromQL
constant such as ``vector(0.7)``) to override ``scaling.target_utilization``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.errors import AiopsError, NotFound
from workers.settings import ScalingSettings
from workers.spine.plans import Action
from workers.spine.workflow import ProposalDraft
from workers.workflows.scaling import actions, analysis
from workers.workflows.scaling import evidence as scaling_evidence
from workers.workflows.scaling.summary import headline

RUNBOOK = analysis.RUNBOOK


@dataclass
class ScalingDiagnosis:
    summary: str
    root_cause: str
    confidence: float
    scaling: dict[str, Any] = field(default_factory=dict)
    """The engine's answer: the ``aiops scaling recommend`` JSON, capacity, cost and replay included."""
    citations: list[dict[str, str]] = field(default_factory=list)
    category: str = "cpu_sustained"

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "summary": self.summary,
            "root_cause": self.root_cause,
            "confidence": self.confidence,
            "citations": list(self.citations),
            "scaling": self.scaling,
        }


@dataclass
class ScalingDraft(ProposalDraft):
    runbook: str | None = RUNBOOK


def _live() -> tuple[Any, Any, ScalingSettings]:
    # The workflow contract hands ``diagnose`` the spine's evidence only; the scaling evidence needs
    # range queries and cluster-wide lists, so it is read here from the worker's context.
    from workers.spine.context import current

    context = current()
    return context.kube, context.prometheus, context.settings.scaling


def diagnose_with(
    kube: Any, prometheus: Any, settings: ScalingSettings, evidence: dict[str, Any], now: float
) -> ScalingDiagnosis:
    """The diagnosis of ``evidence['target']`` (a Deployment) with the given clients."""
    target = evidence.get("target") or {}
    namespace, name = str(target.get("namespace") or ""), str(target.get("name") or "")
    if target.get("kind") != "Deployment" or not namespace or not name:
        reason = f"the scaling workflow needs a Deployment target with a namespace and a name, not {target}"
        return ScalingDiagnosis("no workload to scale", reason, 1.0, {"status": reason})
    # The spine's validation plan finds the workload through the evidence's owner.
    evidence["owner"] = {"deployment": name}
    try:
        found = scaling_evidence.gather(kube, prometheus, namespace, name, settings.history_days, now)
    except NotFound:
        reason = f"deployment {namespace}/{name} no longer exists"
        return ScalingDiagnosis(reason, reason, 1.0, {"status": reason, "refusal": "gone"})
    except AiopsError as exc:
        reason = f"scaling evidence could not be gathered: {exc}"
        return ScalingDiagnosis(reason, reason, 0.0, {"status": reason, "refusal": "evidence"})
    rule_target = (evidence.get("metrics") or {}).get("target_utilization")
    target_utilization = float(rule_target) if rule_target and 0 < float(rule_target) <= 1 else None
    result = analysis.analyse(found, settings, target_utilization)
    result["queries"] = found.get("queries")
    usage = result.get("usage") or {}
    cause = (
        f"CPU per pod {usage.get('per_pod_5m_cores')} cores (5m) against a request of "
        f"{result['requests']['cpu_cores']} cores: utilization {result.get('utilization_now')} "
        f"over a target of {result['target_utilization']}; "
        f"peak total {usage.get('peak_total_cores')} cores over "
        f"{round((usage.get('window_s') or 0) / 3600, 1)} h"
    )
    citations = [
        {
            "source": "prometheus:cpu_usage_cores",
            "text": str(found.get("queries", {}).get("cpu_usage_cores")),
        },
        {
            "source": f"deployment/{name}",
            "text": f"replicas {found['replicas']}, ready {found['ready_replicas']}",
        },
        {"source": "apiservice/" + scaling_evidence.METRICS_API, "text": str(found["metrics_api"]["detail"])},
    ]
    return ScalingDiagnosis(
        headline(result), cause, 0.9 if result.get("status") == "ok" else 0.5, result, citations
    )


class ScalingWorkflow:
    """Recommend and create (or adjust) an HPA (see docs/runbooks/scaling-decision.md)."""

    name = "scaling"
    actions: Mapping[str, Action] = actions.ACTIONS

    def diagnose(self, evidence: dict[str, Any]) -> ScalingDiagnosis:
        try:
            kube, prometheus, settings = _live()
        except RuntimeError as exc:
            return ScalingDiagnosis("no cluster to read", str(exc), 0.0, {"status": str(exc)})
        return diagnose_with(kube, prometheus, settings, evidence, time.time())

    def propose(
        self, diagnosis: ScalingDiagnosis, evidence: dict[str, Any], allowed_actions: list[str]
    ) -> ScalingDraft:
        return propose(diagnosis.scaling, allowed_actions)


def propose(result: dict[str, Any], allowed_actions: list[str]) -> ScalingDraft:
    """``create-hpa``/``patch-hpa`` with the recommended spec, or ``none`` with the reason."""
    action = result.get("action", analysis.NONE)
    validation = (
        "the HPA is AbleToScale and ScalingActive, replicas reach the desired count, CPU per pod falls under "
        "the target and the error rate stays under 5 %, over the rule's window"
    )
    if result.get("status") != "ok" or action == analysis.NONE or action not in allowed_actions:
        reason = str(result.get("status"))
        if result.get("status") == "ok" and action != analysis.NONE:
            reason = f"the rule does not allow {action}"
        return ScalingDraft(
            type="none",
            params={},
            expected_outcome="nothing changes; a person follows the runbook",
            validation_plan="nothing to validate",
            reasoning=reason,
        )
    capacity = result.get("capacity") or {}
    cost = result.get("cost") or {}
    reasoning = (
        f"{headline(result)}. Capacity (requests, N-1): "
        + ("fits" if capacity.get("fits") else f"short: {(capacity.get('shortfall') or {}).get('detail')}")
        + f". Cost per month: {cost.get('monthly_delta_min'):+} at min, "
        f"{cost.get('monthly_delta_expected'):+} expected, "
        f"{cost.get('monthly_delta_max'):+} at max {cost.get('currency')}."
    )
    return ScalingDraft(
        type=action,
        params={
            "deployment": result["deployment"],
            "hpa_name": result.get("hpa_name") or result["deployment"],
            "min_replicas": result["min_replicas"],
            "max_replicas": result["max_replicas"],
            "target_percent": analysis.percent(result["target_utilization"]),
        },
        expected_outcome=(
            f"the HPA scales {result['namespace']}/{result['deployment']} to {result['desired_replicas']} "
            f"replicas and CPU per pod falls under {round(result['target_utilization'] * 100)} % "
            "of its request"
        ),
        validation_plan=validation,
        reasoning=reasoning,
    )
