"""``create-hpa`` and ``patch-hpa``: the exact autoscaling/v2 object (or merge patch), planned before
approval and planned again from the cluster at execution (``workers.spine.rebuild``).

Both refuse, with the reason, when KEDA or an HPA this product did not create scales the Deployment,
when a container has no CPU request, or when the resource metrics API is not Available: an HPA
would then never work. The HPAs created here carry the label ``aiops.dev/managed-by=aiops-responder``;
only those are patched, and a revert deletes them (or puts the previous spec back).
"""

from __future__ import annotations

from typing import Any

from workers.errors import ActionRefused, NotFound
from workers.spine.plans import Plan
from workers.workflows.scaling import analysis
from workers.workflows.scaling import evidence as scaling_evidence

HPA_KIND = "HorizontalPodAutoscaler"


def spec_of(deployment: str, params: dict[str, Any]) -> dict[str, Any]:
    """The HPA spec for ``params`` (min_replicas, max_replicas, target_percent)."""
    minimum, maximum = int(params["min_replicas"]), int(params["max_replicas"])
    percent = int(params["target_percent"])
    if not 1 <= minimum <= maximum:
        raise ActionRefused(f"minReplicas {minimum} and maxReplicas {maximum} are not 1 <= min <= max")
    if not 1 <= percent <= 100:
        raise ActionRefused(f"a CPU target of {percent} % is outside 1..100")
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": minimum,
        "maxReplicas": maximum,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}},
            }
        ],
    }


def refuse_unless_scalable(kube: Any, namespace: str, name: str) -> dict[str, Any]:
    """The Deployment and its HPAs, or ``ActionRefused`` saying why no HPA of ours may scale it."""
    try:
        deployment = kube.get_deployment(namespace, name)
    except NotFound as exc:
        raise ActionRefused(f"deployment {namespace}/{name} no longer exists") from exc
    template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    cpu, _, all_cpu = scaling_evidence.pod_requests(template)
    found = {
        "namespace": namespace,
        "deployment": name,
        "scaled_objects": [
            (s.get("metadata") or {}).get("name")
            for s in kube.list_scaled_objects(namespace)
            if scaling_evidence.targets(s, name)
        ],
        "hpas": [
            scaling_evidence.hpa_brief(h)
            for h in kube.list_hpas(namespace)
            if scaling_evidence.targets(h, name)
        ],
        "cpu_request_cores": cpu,
        "all_containers_request_cpu": all_cpu,
        "metrics_api": scaling_evidence.metrics_api(kube),
        "usage": {"per_pod_5m_cores": 0.0},  # usage is not an execution precondition
    }
    refused = analysis.refusal(found)
    if refused:
        raise ActionRefused(refused[1])
    return {"deployment": deployment, "hpas": found["hpas"]}


def deployment_of(target: dict[str, str], params: dict[str, Any]) -> str:
    """The scaled Deployment: ``params['deployment']``, else the target when it is a Deployment (the
    proposal's target becomes the HPA once planned, so execution reads the name from the params)."""
    name = params.get("deployment") or (target.get("name") if target.get("kind") == "Deployment" else None)
    if not name:
        raise ActionRefused("the plan names no Deployment to scale")
    return str(name)


class CreateHpa:
    """Create an autoscaling/v2 HPA on CPU utilization for the target Deployment."""

    name = "create-hpa"

    def plan(
        self, kube: Any, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        namespace, deployment = target["namespace"], deployment_of(target, params)
        state = refuse_unless_scalable(kube, namespace, deployment)
        if state["hpas"]:
            raise ActionRefused(
                f"deployment {namespace}/{deployment} already has HPA {state['hpas'][0]['name']}"
            )
        hpa_name = str(params.get("hpa_name") or deployment)
        body = {
            "apiVersion": "autoscaling/v2",
            "kind": HPA_KIND,
            "metadata": {
                "name": hpa_name,
                "namespace": namespace,
                "labels": {scaling_evidence.OURS: scaling_evidence.OURS_VALUE},
            },
            "spec": spec_of(deployment, params),
        }
        meta = state["deployment"].get("metadata") or {}
        return Plan(
            verb="create",
            kind=HPA_KIND,
            namespace=namespace,
            name=hpa_name,
            patch=body,
            guard={"uid": meta.get("uid")},
            summary=f"create HPA {namespace}/{hpa_name} for deployment {deployment}: "
            f"min {params['min_replicas']}, max {params['max_replicas']}, "
            f"CPU target {params['target_percent']} %",
            source={"kind": "Deployment", "name": deployment, "uid": meta.get("uid")},
        )


class PatchHpa:
    """Change minReplicas, maxReplicas and the CPU target of an HPA this product created."""

    name = "patch-hpa"

    def plan(
        self, kube: Any, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        namespace, deployment = target["namespace"], deployment_of(target, params)
        state = refuse_unless_scalable(kube, namespace, deployment)
        ours = [h for h in state["hpas"] if h["ours"]]
        if not ours:
            raise ActionRefused(f"deployment {namespace}/{deployment} has no HPA created by aiops-responder")
        hpa = kube.get_hpa(namespace, ours[0]["name"])
        spec = spec_of(deployment, params)
        patch = {"spec": {key: spec[key] for key in ("minReplicas", "maxReplicas", "metrics")}}
        meta = hpa.get("metadata") or {}
        return Plan(
            verb="patch",
            kind=HPA_KIND,
            namespace=namespace,
            name=str(meta.get("name")),
            patch_type="merge",
            patch=patch,
            guard={"uid": meta.get("uid"), "generation": meta.get("generation")},
            summary=f"patch HPA {namespace}/{meta.get('name')}: min {params['min_replicas']}, "
            f"max {params['max_replicas']}, CPU target {params['target_percent']} %",
        )


ACTIONS = {action.name: action for action in (CreateHpa(), PatchHpa())}
