"""The scaling engine: evidence in, one recommendation out (the CLI and the workflow share it).

It decides the action (``create-hpa`` when nothing scales the Deployment, ``patch-hpa`` for an HPA
this product created, else none), the recommendation, the capacity check, the cost and the replay,
and a ``status``: ``ok``, or why no HPA can be proposed (KEDA, someone else's HPA, no CPU requests,
no metrics API, no usage in Prometheus).
"""

from __future__ import annotations

import math
from typing import Any

from workers.settings import ScalingSettings
from workers.workflows.scaling import capacity, cost, recommend, replay

CREATE, PATCH, NONE = "create-hpa", "patch-hpa", "none"
RUNBOOK = "docs/runbooks/scaling-decision.md"


def refusal(evidence: dict[str, Any]) -> tuple[str, str] | None:
    """(code, reason) when no HPA may be proposed for this workload, else None."""
    name = f"{evidence['namespace']}/{evidence['deployment']}"
    if evidence.get("scaled_objects"):
        objects = ", ".join(evidence["scaled_objects"])
        return (
            "keda",
            f"deployment {name} is scaled by KEDA (ScaledObject {objects}); change its triggers instead",
        )
    foreign = [h["name"] for h in evidence.get("hpas") or [] if not h.get("ours")]
    if foreign:
        return "foreign-hpa", (
            f"deployment {name} is scaled by HPA {', '.join(foreign)}, which aiops-responder did not create; "
            "edit that HPA where it is managed"
        )
    if not evidence.get("all_containers_request_cpu") or evidence.get("cpu_request_cores", 0) <= 0:
        return "no-cpu-requests", (
            f"deployment {name} has a container without a CPU request: CPU utilization (usage / request) is "
            "undefined and an HPA on it cannot work; set CPU requests first (see the runbook)"
        )
    metrics_api = evidence.get("metrics_api") or {}
    if not metrics_api.get("available"):
        return "no-metrics-api", (
            f"the resource metrics API is not served ({metrics_api.get('detail')}): an HPA cannot read "
            "pod CPU and would never scale; install metrics-server first"
        )
    if evidence.get("usage", {}).get("per_pod_5m_cores") is None:
        return (
            "no-usage",
            f"Prometheus has no recent CPU usage for deployment {name}; nothing to size an HPA on",
        )
    return None


def analyse(
    evidence: dict[str, Any], settings: ScalingSettings, target: float | None = None
) -> dict[str, Any]:
    """The recommendation for the gathered ``evidence`` (``workers.workflows.scaling.evidence.gather``)."""
    target = target or settings.target_utilization
    ours = next((h for h in evidence.get("hpas") or [] if h.get("ours")), None)
    usage = evidence.get("usage") or {}
    current = int(evidence.get("replicas") or 0)
    result: dict[str, Any] = {
        "namespace": evidence["namespace"],
        "deployment": evidence["deployment"],
        "current_replicas": current,
        "ready_replicas": evidence.get("ready_replicas"),
        "target_utilization": target,
        "requests": {
            "cpu_cores": evidence.get("cpu_request_cores"),
            "memory_bytes": evidence.get("memory_request_bytes"),
        },
        "usage": usage,
        "existing_hpa": ours or next(iter(evidence.get("hpas") or []), None),
        "metrics_api": evidence.get("metrics_api"),
        "pdbs": evidence.get("pdbs") or [],
        "min_replicas": None,
        "max_replicas": None,
        "desired_replicas": None,
        "capacity": {"fits": None, "shortfall": None},
        "cost": None,
        "replay": None,
        "action": NONE,
        "runbook": RUNBOOK,
        "errors": list(evidence.get("errors") or []),
    }
    refused = refusal(evidence)
    if refused and refused[0] in {"no-cpu-requests", "no-usage"}:
        result.update(status=refused[1], refusal=refused[0])
        return result
    cpu_request, memory_request = (
        float(evidence["cpu_request_cores"]),
        float(evidence["memory_request_bytes"]),
    )
    load = recommend.Load(
        current_replicas=current,
        cpu_request_cores=cpu_request,
        memory_request_bytes=memory_request,
        usage_5m_cores=usage.get("per_pod_5m_cores"),
        peak_total_cores=usage.get("peak_total_cores"),
        window_s=int(usage.get("window_s") or 0),
    )
    first = recommend.recommend(load, target, settings.headroom, None)
    wanted = first.unbounded_max_replicas
    if ours and ours.get("max_replicas") and current >= int(ours["max_replicas"]):
        wanted = max(wanted, int(ours["max_replicas"]) + 1)  # maxed out: propose a higher max
    nodes = [
        capacity.Node(n["name"], n["cpu_cores"], n["memory_bytes"], n["schedulable"])
        for n in evidence["nodes"]
    ]
    other = evidence.get("other_requests") or {}
    fit = capacity.check(
        wanted,
        nodes,
        other.get("cpu_cores", 0.0),
        other.get("memory_bytes", 0.0),
        cpu_request,
        memory_request,
    )
    minimum = current if ours is None else min(int(ours.get("min_replicas") or 1), wanted)
    maximum = wanted if fit.fits else max(fit.placeable_replicas, minimum)
    desired = max(minimum, min(first.desired_replicas, maximum))
    result.update(
        min_replicas=minimum,
        max_replicas=maximum,
        desired_replicas=desired,
        unbounded_max_replicas=wanted,
        utilization_now=first.utilization_now,
        bounded_by_capacity=not fit.fits,
        capacity=fit.to_dict(),
        cost=cost.monthly(
            current, minimum, desired, maximum, cpu_request, memory_request, settings
        ).to_dict(),
        replay=replay.replay(
            [(t, v) for t, v in evidence.get("cpu_samples") or []],
            cpu_request,
            target,
            minimum,
            maximum,
            current,
        )
        if evidence.get("cpu_samples")
        else None,
    )
    if refused:
        result.update(status=refused[1], refusal=refused[0])
        return result
    if ours is not None:
        same = (
            int(ours.get("min_replicas") or 1) == minimum
            and ours.get("max_replicas") == maximum
            and ours.get("cpu_target_percent") == percent(target)
        )
        result.update(action=NONE if same else PATCH, hpa_name=ours["name"])
        result["status"] = "ok" if not same else "ok: the HPA already has the recommended spec"
    else:
        result.update(action=CREATE, hpa_name=evidence["deployment"], status="ok")
    return result


def percent(target: float) -> int:
    """The HPA's averageUtilization for a target share (0.70 → 70)."""
    return math.floor(target * 100 + 0.5)
