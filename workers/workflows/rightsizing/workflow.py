"""The ``rightsizing`` workflow: a workload's usage history → its containers' requests and limits.

``report`` runs the engine over a namespace (the CLI and the jobs share it); ``drafts`` turns one
workload's answer into ``patch-resources`` drafts (the containers whose recommendation is ``ok``, and
the HPA retarget that keeps its scale point). ``RightsizingWorkflow`` is the spine's contract for a rule
whose ``playbook`` is ``rightsizing`` (an alert about a workload asks for its right-sizing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workers.errors import AiopsError, NotFound
from workers.settings import Settings
from workers.spine.plans import Action
from workers.spine.workflow import ProposalDraft
from workers.workflows.rightsizing import actions, analysis
from workers.workflows.rightsizing import evidence as rs_evidence

RUNBOOK = analysis.RUNBOOK
NAME = "rightsizing"


@dataclass
class RightsizingDiagnosis:
    summary: str
    root_cause: str
    confidence: float
    rightsizing: dict[str, Any] = field(default_factory=dict)
    """The engine's answer for the workload (``analysis.analyse``)."""
    citations: list[dict[str, str]] = field(default_factory=list)
    category: str = "rightsizing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "summary": self.summary,
            "root_cause": self.root_cause,
            "confidence": self.confidence,
            "citations": list(self.citations),
            "rightsizing": self.rightsizing,
        }


@dataclass
class RightsizingDraft(ProposalDraft):
    runbook: str | None = RUNBOOK


def report(
    kube: Any,
    prometheus: Any,
    settings: Settings,
    namespace: str,
    only: tuple[str, str] | None = None,
    now: float | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every workload's answer in ``namespace`` (or just ``only``), and the queries sent."""
    usages, sent = rs_evidence.gather(kube, prometheus, namespace, settings.rightsizing, only)
    at = time.time() if now is None else now
    return [analysis.analyse(u, settings.rightsizing, settings.scaling, at) for u in usages], sent


def headline(result: dict[str, Any]) -> str:
    name = f"{result['kind'].lower()} {result['namespace']}/{result['name']}"
    if result["status"] != "ok":
        reasons = {c["container"]: c["reason"] for c in result["containers"]}
        return f"{name}: {result['status']}: " + "; ".join(f"{k}: {v}" for k, v in reasons.items())
    saved = result["savings"]
    return (
        f"{name}: resize {', '.join(result['proposed'])}; "
        f"{saved['monthly']:+.2f} {saved['currency']}/month saved"
    )


def _wanted(container: dict[str, Any]) -> dict[str, Any]:
    new = container["recommended"]
    return {
        "requests": {"cpu": new["cpu_request"], "memory": new["memory_request"]},
        "limits": {"cpu": new["cpu_limit"], "memory": new["memory_limit"]},
    }


def _describe(container: dict[str, Any]) -> str:
    cur, new, s = container["current"], container["recommended"], container["savings"]
    return (
        f"{container['container']}: CPU request {cur['cpu_request']} → {new['cpu_request']} "
        f"({s.get('cpu_request_pct')} % less), memory request {cur['memory_request']} → "
        f"{new['memory_request']} ({s.get('memory_request_pct')} % less), memory limit "
        f"{cur['memory_limit'] or 'none'} → {new['memory_limit'] or 'none'}, CPU limit "
        f"{cur['cpu_limit'] or 'none'} → {new['cpu_limit'] or 'none'}"
    )


def drafts(result: dict[str, Any], settings: Settings) -> list[RightsizingDraft]:
    """``patch-resources`` for the ok containers, then the HPA retarget(s); none when nothing is ok."""
    if result["status"] != "ok":
        return []
    rs = settings.rightsizing
    ok = [c for c in result["containers"] if c["container"] in result["proposed"]]
    validation = (
        f"rollout complete and every pod Ready within {rs.ready_within_s}s; 0 restarts and no OOM kill "
        f"over {rs.watch_window_s}s; regressed: a revert is proposed"
    )
    found: list[RightsizingDraft] = [
        RightsizingDraft(
            type=actions.NAME,
            params={
                "kind": result["kind"],
                "name": result["name"],
                "containers": {c["container"]: _wanted(c) for c in ok},
            },
            expected_outcome=(
                f"{result['kind']} {result['namespace']}/{result['name']} rolls out with the new resources; "
                f"every pod Ready within {rs.ready_within_s}s, no restart and no OOM kill for "
                f"{rs.watch_window_s}s; {result['savings']['monthly']:+.2f} "
                f"{result['savings']['currency']}/month of requests saved"
            ),
            validation_plan=validation,
            reasoning="; ".join(_describe(c) for c in ok)
            + f". Margin {rs.margin:.2f} over p95 (requests) and over the maximum (memory limit); "
            "backtest passed.",
        )
    ]
    by_hpa: dict[str, list[dict[str, Any]]] = {}
    for change in result.get("hpa_retargets") or []:
        by_hpa.setdefault(change["name"], []).append(change)
    for hpa_name, changes in sorted(by_hpa.items()):
        targets = [
            {
                "index": c["index"],
                "from": c["current_target_utilization"],
                "to": c["recommended_target_utilization"],
            }
            for c in changes
        ]
        found.append(
            RightsizingDraft(
                type=actions.NAME,
                params={
                    "hpa": {"name": hpa_name, "targets": targets},
                    "kind": result["kind"],
                    "name": result["name"],
                },
                expected_outcome=(
                    f"HPA {result['namespace']}/{hpa_name} scales at the same usage per pod as before the "
                    "new requests; approve it together with the resources proposal"
                ),
                validation_plan="the HPA keeps AbleToScale and the workload stays Ready",
                reasoning="; ".join(
                    f"{c['metric']}: target {c['current_target_utilization']} % of the old request = "
                    f"{c['recommended_target_utilization']} % of the new one"
                    for c in changes
                ),
            )
        )
    return found


def _live() -> tuple[Any, Any, Settings]:
    # The contract hands ``diagnose`` the spine's evidence only; right-sizing needs namespace-wide
    # Prometheus queries, so they run here with the worker's context.
    from workers.spine.context import current

    context = current()
    return context.kube, context.prometheus, context.settings


class RightsizingWorkflow:
    """Right-size a workload's containers (see docs/runbooks/resource-optimization.md)."""

    name = NAME
    actions: Mapping[str, Action] = actions.ACTIONS

    def diagnose(self, evidence: dict[str, Any]) -> RightsizingDiagnosis:
        target = evidence.get("target") or {}
        owner = evidence.get("owner") or {}
        kind, name = str(target.get("kind") or ""), str(target.get("name") or "")
        if kind == "Pod" and owner.get("deployment"):
            kind, name = "Deployment", str(owner["deployment"])
        namespace = str(target.get("namespace") or "")
        if kind not in ("Deployment", "StatefulSet", "DaemonSet") or not namespace or not name:
            reason = f"right-sizing needs a Deployment, StatefulSet or DaemonSet target, not {target}"
            return RightsizingDiagnosis("no workload to size", reason, 1.0, {"status": reason})
        try:
            kube, prometheus, settings = _live()
            (result,), _ = report(kube, prometheus, settings, namespace, (kind, name))
        except NotFound as exc:
            return RightsizingDiagnosis(str(exc), str(exc), 1.0, {"status": str(exc)})
        except (AiopsError, RuntimeError) as exc:
            reason = f"right-sizing evidence could not be gathered: {exc}"
            return RightsizingDiagnosis(reason, reason, 0.0, {"status": reason})
        return RightsizingDiagnosis(headline(result), headline(result), 0.9, result)

    def propose(
        self, diagnosis: RightsizingDiagnosis, evidence: dict[str, Any], allowed_actions: list[str]
    ) -> RightsizingDraft:
        result = diagnosis.rightsizing
        found = drafts(result, _live()[2]) if result.get("containers") else []
        if found and found[0].type in allowed_actions:
            return found[0]
        reason = str(result.get("status")) if not found else f"the rule does not allow {actions.NAME}"
        return RightsizingDraft("none", {}, "nothing changes", "nothing to validate", reasoning=reason)
