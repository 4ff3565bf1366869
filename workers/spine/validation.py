"""Post-action validation: did the change do what the proposal promised?

Checks run at growing intervals over the rule's watch window (after, 2×after, 4×after, … until
``for`` has passed). Built-in checks look at the workload through the API; rule checks are PromQL
expressions that hold when they return at least one sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.errors import AiopsError, NotFound
from workers.integrations.prometheus.queries import run_query, sample_values

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube
    from workers.integrations.prometheus.client import Prometheus


def next_delay(after_s: int, round_: int) -> int:
    """Seconds until check ``round_ + 1``: after, then doubling."""
    return max(1, after_s * int(2**round_))


def workload_pods(kube: Kube, plan_target: dict[str, str]) -> list[dict[str, Any]]:
    """Current pods of the Deployment a plan touched (or of the deleted pod's Deployment)."""
    deployment = kube.get_deployment(plan_target["namespace"], plan_target["deployment"])
    selector = deployment["spec"]["selector"].get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return kube.list_pods(plan_target["namespace"], label_selector)


def restart_total(pods: list[dict[str, Any]]) -> int:
    return sum(
        int(status.get("restartCount") or 0)
        for pod in pods
        for status in (pod.get("status") or {}).get("containerStatuses") or []
    )


def check_target_ready(kube: Kube, workload: dict[str, str]) -> dict[str, Any]:
    deployment = kube.get_deployment(workload["namespace"], workload["deployment"])
    spec_replicas = int((deployment.get("spec") or {}).get("replicas", 1))
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation")
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    observed = status.get("observedGeneration")
    ok = ready >= spec_replicas and updated >= spec_replicas and (observed is None or observed == generation)
    return {
        "name": "target_ready",
        "ok": ok,
        "detail": f"ready {ready}/{spec_replicas}, updated {updated}, "
        f"observedGeneration {observed}/{generation}",
    }


def check_restarts_stable(kube: Kube, workload: dict[str, str], baseline: int | None) -> dict[str, Any]:
    total = restart_total(workload_pods(kube, workload))
    if baseline is None:
        return {
            "name": "restarts_stable",
            "ok": True,
            "detail": f"baseline {total} restarts",
            "restarts": total,
        }
    ok = total <= baseline
    return {
        "name": "restarts_stable",
        "ok": ok,
        "detail": f"restarts {baseline} -> {total}",
        "restarts": total,
    }


def check_promql(prometheus: Prometheus, name: str, query: str) -> dict[str, Any]:
    try:
        values = sample_values(run_query(prometheus, query))
    except AiopsError as exc:
        return {"name": name, "ok": None, "detail": f"could not evaluate: {exc}", "query": query}
    return {"name": name, "ok": bool(values), "detail": f"{len(values)} sample(s)", "query": query}


def run_checks(
    kube: Kube, prometheus: Prometheus, plan: dict[str, Any], state: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run every check of ``plan``; ``state`` carries the restart baseline between rounds."""
    workload = plan.get("workload")
    results = []
    for check in plan.get("checks") or []:
        try:
            if check.get("kubernetes") == "target_ready" and workload:
                results.append(check_target_ready(kube, workload))
            elif check.get("kubernetes") == "restarts_stable" and workload:
                result = check_restarts_stable(kube, workload, state.get("restart_baseline"))
                state.setdefault("restart_baseline", result["restarts"])
                results.append(result)
            elif check.get("promql"):
                results.append(check_promql(prometheus, check.get("name") or "promql", check["promql"]))
        except NotFound as exc:
            results.append(
                {"name": check.get("name") or check.get("kubernetes"), "ok": False, "detail": str(exc)}
            )
    return results


def verdict(results: list[dict[str, Any]]) -> bool | None:
    """False if any check failed, None if some could not be evaluated, else True."""
    if any(result["ok"] is False for result in results):
        return False
    if any(result["ok"] is None for result in results):
        return None
    return True
