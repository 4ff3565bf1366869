"""What a scaling decision needs, read from the cluster and Prometheus (never written).

From the API: the Deployment, its pods and their readiness, per-pod CPU and memory requests, any
HPA or KEDA ScaledObject scaling it, whether ``v1beta1.metrics.k8s.io`` is Available, the nodes'
allocatable and what the other pods request, and PodDisruptionBudgets. From Prometheus, one range
query: the workload's total CPU use (pods joined to the Deployment through ``kube_pod_owner`` and
``kube_replicaset_owner``, kubernetes-mixin style) over the history window, every minute; the last
sample is the 5-minute rate now, the last hour gives the 1 h figure, the maximum gives the peak.
Label values reach PromQL only through ``rules.templating.promql_quote``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rules.templating import promql_quote
from workers.errors import AiopsError, NotFound, PermanentError, TemporaryError
from workers.integrations.kubernetes.client import list_paged
from workers.integrations.kubernetes.quantities import parse_bytes, parse_millicores
from workers.integrations.prometheus.queries import run_query, sample_values

METRICS_API = "v1beta1.metrics.k8s.io"
OURS = "aiops.dev/managed-by"
"""Label on the HPAs this product created (value ``aiops-responder``): only those may be patched or
deleted by a revert."""
OURS_VALUE = "aiops-responder"
STEP_S = 60
DONE_PHASES = {"Succeeded", "Failed"}


def owned_pods(namespace: str, deployment: str, within: str | None = None) -> str:
    """1 for each pod of ``deployment`` (pod → ReplicaSet → Deployment), by (namespace, pod).

    ``within`` (e.g. ``5m``): every pod that belonged to it during that range, so that a rate over the
    same range sums the CPU of pods replaced inside it (a rollout, a scale-down) instead of dropping it.
    """
    ns, name = promql_quote(namespace), promql_quote(deployment)
    owner = f'kube_pod_owner{{namespace={ns}, owner_kind="ReplicaSet"}}'
    if within:
        owner = f"max_over_time({owner}[{within}])"
    return (
        "max by (namespace, pod) ("
        f'label_replace({owner}, "replicaset", "$1", "owner_name", "(.*)")'
        " * on (namespace, replicaset) group_left () "
        f'max by (namespace, replicaset) (kube_replicaset_owner{{namespace={ns}, owner_kind="Deployment", '
        f"owner_name={name}}}))"
    )


def cpu_usage_query(namespace: str, deployment: str) -> str:
    """The workload's total CPU use in cores (5-minute rate)."""
    ns = promql_quote(namespace)
    return (
        f'sum(rate(container_cpu_usage_seconds_total{{namespace={ns}, container!=""}}[5m])'
        f" * on (namespace, pod) group_left () {owned_pods(namespace, deployment, '10m')})"
    )


def cpu_now_query(namespace: str, deployment: str) -> str:
    """The workload's CPU use now, in cores, from the last two samples of each current pod (``irate``):
    what the HPA reads from the metrics API is as recent, and pods started minutes ago count in full."""
    ns = promql_quote(namespace)
    return (
        f'sum(irate(container_cpu_usage_seconds_total{{namespace={ns}, container!=""}}[2m])'
        f" * on (namespace, pod) group_left () {owned_pods(namespace, deployment)})"
    )


def error_ratio_query(namespace: str, deployment: str) -> str:
    """Share of 5xx among the workload's requests over 5 minutes."""
    ns, owned = promql_quote(namespace), owned_pods(namespace, deployment)
    join = f" * on (namespace, pod) group_left () {owned})"
    return (
        f'sum(rate(http_requests_total{{namespace={ns}, code=~"5.."}}[5m]){join}'
        f" / sum(rate(http_requests_total{{namespace={ns}}}[5m]){join}"
    )


def _range(prometheus: Any, query: str, start: float, end: float) -> list[tuple[float, float]]:
    from prometheus_api_client.exceptions import PrometheusApiClientException
    from requests import RequestException

    try:
        result = prometheus.custom_query_range(
            query=query,
            start_time=dt.datetime.fromtimestamp(start, dt.UTC),
            end_time=dt.datetime.fromtimestamp(end, dt.UTC),
            step=str(STEP_S),
        )
    except RequestException as exc:
        raise TemporaryError(f"prometheus: {type(exc).__name__}: {exc}") from exc
    except PrometheusApiClientException as exc:
        if "Status Code 4" in str(exc):
            raise PermanentError(f"prometheus rejected the query: {exc}") from exc
        raise TemporaryError(f"prometheus: {exc}") from exc
    samples: list[tuple[float, float]] = []
    for series in result or []:
        for stamp, value in series.get("values") or []:
            samples.append((float(stamp), float(value)))
    return sorted(samples)


def pod_requests(spec: dict[str, Any]) -> tuple[float, float, bool]:
    """(CPU cores, memory bytes, every container requests CPU) of a pod spec's containers."""
    cpu, memory, all_cpu = 0.0, 0.0, True
    for container in spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        if requests.get("cpu") is None:
            all_cpu = False
        else:
            cpu += parse_millicores(requests["cpu"]) / 1000
        if requests.get("memory") is not None:
            memory += parse_bytes(requests["memory"])
    return cpu, memory, all_cpu


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return {k: condition.get(k) for k in ("type", "status", "reason", "message")}
    return None


def targets(obj: dict[str, Any], deployment: str) -> bool:
    ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return ref.get("name") == deployment and ref.get("kind", "Deployment") == "Deployment"


def hpa_brief(hpa: dict[str, Any]) -> dict[str, Any]:
    meta, spec, status = hpa.get("metadata") or {}, hpa.get("spec") or {}, hpa.get("status") or {}
    target = None
    for metric in spec.get("metrics") or []:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            target = (resource.get("target") or {}).get("averageUtilization")
    return {
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "ours": (meta.get("labels") or {}).get(OURS) == OURS_VALUE,
        "min_replicas": spec.get("minReplicas", 1),
        "max_replicas": spec.get("maxReplicas"),
        "cpu_target_percent": target,
        "current_replicas": status.get("currentReplicas"),
        "desired_replicas": status.get("desiredReplicas"),
        "conditions": [
            c for c in (_condition(hpa, t) for t in ("AbleToScale", "ScalingActive", "ScalingLimited")) if c
        ],
    }


def _nodes(kube: Any) -> list[dict[str, Any]]:
    nodes = []
    for node in list_paged(kube, "Node"):
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        ready = (_condition(node, "Ready") or {}).get("status") == "True"
        nodes.append(
            {
                "name": (node.get("metadata") or {}).get("name"),
                "cpu_cores": parse_millicores(allocatable.get("cpu", 0)) / 1000,
                "memory_bytes": parse_bytes(allocatable.get("memory", 0)),
                "schedulable": ready and not (node.get("spec") or {}).get("unschedulable"),
            }
        )
    return nodes


def metrics_api(kube: Any) -> dict[str, Any]:
    try:
        service = kube.get_apiservice(METRICS_API)
    except NotFound:
        return {
            "name": METRICS_API,
            "available": False,
            "detail": f"APIService {METRICS_API} is not registered",
        }
    condition = _condition(service, "Available") or {}
    available = condition.get("status") == "True"
    detail = (
        "Available" if available else f"not Available: {condition.get('reason')}: {condition.get('message')}"
    )
    return {"name": METRICS_API, "available": available, "detail": detail}


def gather(
    kube: Any, prometheus: Any, namespace: str, deployment: str, history_days: int, now: float
) -> dict[str, Any]:
    """The scaling evidence of ``namespace/deployment``; raises ``NotFound`` when it does not exist.

    Failures of single sources are listed in ``errors`` rather than raised.
    """
    found = kube.get_deployment(namespace, deployment)
    meta, spec = found.get("metadata") or {}, found.get("spec") or {}
    cpu, memory, all_cpu = pod_requests((spec.get("template") or {}).get("spec") or {})
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = kube.list_pods(namespace, label_selector) if label_selector else []
    uids = {(p.get("metadata") or {}).get("uid") for p in pods}
    errors: list[str] = []
    evidence: dict[str, Any] = {
        "namespace": namespace,
        "deployment": deployment,
        "generation": meta.get("generation"),
        "uid": meta.get("uid"),
        "replicas": int(spec.get("replicas", 1)),
        "ready_replicas": int((found.get("status") or {}).get("readyReplicas") or 0),
        "pods": [{"name": (p.get("metadata") or {}).get("name"), "ready": _ready(p)} for p in pods],
        "cpu_request_cores": cpu,
        "memory_request_bytes": memory,
        "all_containers_request_cpu": all_cpu,
        "hpas": [hpa_brief(h) for h in kube.list_hpas(namespace) if targets(h, deployment)],
        "scaled_objects": [
            (s.get("metadata") or {}).get("name")
            for s in kube.list_scaled_objects(namespace)
            if targets(s, deployment)
        ],
        "metrics_api": metrics_api(kube),
        "pdbs": [
            {"name": (b.get("metadata") or {}).get("name"), "status": b.get("status") or {}}
            for b in kube.list_pdbs(namespace)
            if selector
            and ((b.get("spec") or {}).get("selector") or {}).get("matchLabels", {}).items()
            <= selector.items()
        ],
        "errors": errors,
    }
    nodes = _nodes(kube)
    other_cpu = other_memory = 0.0
    for pod in list_paged(kube, "Pod"):
        pod_meta, pod_spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if pod_meta.get("uid") in uids or not pod_spec.get("nodeName"):
            continue
        if (pod.get("status") or {}).get("phase") in DONE_PHASES:
            continue
        pod_cpu, pod_memory, _ = pod_requests(pod_spec)
        other_cpu, other_memory = other_cpu + pod_cpu, other_memory + pod_memory
    evidence.update(
        nodes=nodes, other_requests={"cpu_cores": round(other_cpu, 3), "memory_bytes": int(other_memory)}
    )
    query = cpu_usage_query(namespace, deployment)
    now_query = cpu_now_query(namespace, deployment)
    evidence["queries"] = {
        "cpu_usage_cores": query,
        "cpu_now_cores": now_query,
        "error_ratio": error_ratio_query(namespace, deployment),
    }
    samples: list[tuple[float, float]] = []
    current: float | None = None
    try:
        samples = _range(prometheus, query, now - history_days * 86400, now)
        values = sample_values(run_query(prometheus, now_query))
        current = values[0] if values else None
    except AiopsError as exc:
        errors.append(f"prometheus cpu usage: {exc}")
    evidence["cpu_samples"] = samples
    evidence["usage"] = usage_figures(
        samples, now, evidence["ready_replicas"] or evidence["replicas"], current
    )
    return evidence


def usage_figures(
    samples: list[tuple[float, float]], now: float, pods: int, current: float | None
) -> dict[str, Any]:
    """Per-pod CPU now (``current``: the total now) and over 1 h, the total's peak and its window."""
    pods = max(1, pods)
    figures: dict[str, Any] = {
        "per_pod_5m_cores": round(current / pods, 4) if current is not None else None,
        "total_now_cores": round(current, 4) if current is not None else None,
        "per_pod_1h_cores": None,
        "peak_total_cores": current,
        "window_s": 0,
    }
    if samples:
        hour = [value for stamp, value in samples if stamp >= now - 3600]
        peak = max(value for _, value in samples)
        figures.update(
            per_pod_1h_cores=round(sum(hour) / len(hour) / pods, 4) if hour else None,
            peak_total_cores=round(max(peak, current or 0.0), 4),
            window_s=int(samples[-1][0] - samples[0][0]),
        )
    return figures
