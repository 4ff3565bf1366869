"""What right-sizing reads (never writes): the workloads of a namespace and their usage in Prometheus.

From the API: the Deployments, StatefulSets and DaemonSets of the namespace with each container's
requests and limits, and the HPAs. From Prometheus: the figures of ``queries.figure_queries``, one
query each for the whole namespace; a pod's figures go to its workload through ``kube_pod_owner`` and
``kube_replicaset_owner`` (so the pods that history replaced count too). A workload's figure is the
largest over its pods (the hottest pod sets the size every pod gets); ``first_seen`` is the earliest,
``points`` and ``restarts`` add up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from workers.errors import AiopsError, NotFound
from workers.integrations.kubernetes.quantities import parse_bytes, parse_millicores
from workers.integrations.prometheus.queries import run_query
from workers.settings import RightsizingSettings
from workers.workflows.rightsizing import queries
from workers.workflows.rightsizing.model import (
    WORKLOAD_KINDS,
    ContainerUsage,
    Resources,
    WorkloadUsage,
)

_SUMMED = {"points", "restarts", "oom_kills"}
_MINIMUM = {"first_seen"}
_OWNERS = {"pod_owner", "replicaset_owner"}


def window_of(settings: RightsizingSettings) -> queries.Window:
    return queries.Window(
        days=settings.history_days,
        step_s=settings.step_s,
        rate_window=settings.rate_window,
        startup_s=settings.startup_exclusion_minutes * 60,
        holdout_days=settings.backtest_days,
    )


def resources_of(container: dict[str, Any]) -> Resources:
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}

    def cores(value: Any) -> float | None:
        return parse_millicores(value) / 1000 if value is not None else None

    def size(value: Any) -> float | None:
        return float(parse_bytes(value)) if value is not None else None

    return Resources(
        cpu_request=cores(requests.get("cpu")),
        cpu_limit=cores(limits.get("cpu")),
        memory_request=size(requests.get("memory")),
        memory_limit=size(limits.get("memory")),
    )


def replicas_of(obj: dict[str, Any]) -> int:
    if obj.get("kind") == "DaemonSet":
        return int((obj.get("status") or {}).get("desiredNumberScheduled") or 0)
    return int((obj.get("spec") or {}).get("replicas", 1))


def workloads(kube: Any, namespace: str, only: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The workloads of ``namespace`` (or just ``only`` = (kind, name)); ``NotFound`` for an unknown one."""
    if only is not None:
        kind, name = only
        found = kube.get_workload(kind, namespace, name)
        found["kind"] = kind
        return [found]
    return [item for kind in WORKLOAD_KINDS for item in kube.list_workloads(kind, namespace)]


def hpa_scales(hpa: dict[str, Any], kind: str, name: str) -> bool:
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return ref.get("name") == name and ref.get("kind", "Deployment") == kind


def _usage(obj: dict[str, Any], hpas: list[dict[str, Any]]) -> WorkloadUsage:
    meta = obj.get("metadata") or {}
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    kind, name = str(obj.get("kind")), str(meta.get("name"))
    return WorkloadUsage(
        kind=kind,
        namespace=str(meta.get("namespace")),
        name=name,
        replicas=replicas_of(obj),
        generation=meta.get("generation"),
        uid=meta.get("uid"),
        containers=[
            ContainerUsage(str(c.get("name")), resources_of(c), dict(c.get("resources") or {}))
            for c in template.get("containers") or []
        ],
        hpas=[h for h in hpas if hpa_scales(h, kind, name)],
    )


def owners(results: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[str, str]]:
    """pod -> (workload kind, name), from ``kube_pod_owner`` and ``kube_replicaset_owner``."""
    replicasets: dict[str, tuple[str, str]] = {}
    for series in results.get("replicaset_owner") or []:
        labels = series.get("metric") or {}
        if labels.get("owner_kind") and labels.get("owner_name"):
            replicasets[str(labels.get("replicaset"))] = (
                str(labels["owner_kind"]),
                str(labels["owner_name"]),
            )
    found: dict[str, tuple[str, str]] = {}
    for series in results.get("pod_owner") or []:
        labels = series.get("metric") or {}
        pod, kind, owner = str(labels.get("pod")), labels.get("owner_kind"), labels.get("owner_name")
        if kind == "ReplicaSet" and owner in replicasets:
            found[pod] = replicasets[str(owner)]
        elif kind in WORKLOAD_KINDS and owner:
            found[pod] = (str(kind), str(owner))
    return found


def _value(series: dict[str, Any]) -> float | None:
    try:
        value = float(series["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def attribute(results: dict[str, list[dict[str, Any]]], usages: Iterable[WorkloadUsage]) -> None:
    """Put each (pod, container) figure on its workload's container, aggregated over the pods."""
    pod_owner = owners(results)
    index = {(u.kind, u.name): {c.name: c for c in u.containers} for u in usages}
    pods: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for figure, result in results.items():
        if figure in _OWNERS:
            continue
        for series in result:
            labels = series.get("metric") or {}
            pod, container_name = str(labels.get("pod")), str(labels.get("container"))
            workload = pod_owner.get(pod)
            value = _value(series)
            if workload is None or value is None:
                continue
            container = index.get(workload, {}).get(container_name)
            if container is None:
                continue
            pods[(*workload, container_name)].add(pod)
            old = container.figures.values.get(figure)
            if old is None:
                new = value
            elif figure in _SUMMED:
                new = old + value
            elif figure in _MINIMUM:
                new = min(old, value)
            else:
                new = max(old, value)
            container.figures.values[figure] = new
    for usage in usages:
        for container in usage.containers:
            container.pods = len(pods.get((usage.kind, usage.name, container.name), ()))


def gather(
    kube: Any,
    prometheus: Any,
    namespace: str,
    settings: RightsizingSettings,
    only: tuple[str, str] | None = None,
) -> tuple[list[WorkloadUsage], dict[str, str]]:
    """The workloads of ``namespace`` with their figures, and the queries sent (by figure name).

    ``NotFound`` when the namespace (or ``only``) does not exist. A query Prometheus could not answer
    is named in each workload's ``errors``; its figure stays None.
    """
    kube.get_namespace(namespace)
    try:
        objects = workloads(kube, namespace, only)
    except NotFound as exc:
        kind, name = only or ("workload", "?")
        raise NotFound(f"{kind} {namespace}/{name} not found: {exc}") from exc
    hpas = kube.list_hpas(namespace)
    usages = [_usage(obj, hpas) for obj in objects]
    sent = queries.figure_queries(namespace, window_of(settings))
    results: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []

    def one(item: tuple[str, str]) -> tuple[str, list[dict[str, Any]] | None, str | None]:
        try:
            return item[0], run_query(prometheus, item[1]), None
        except AiopsError as exc:
            return item[0], None, f"prometheus {item[0]}: {exc}"

    # A few queries at once: Prometheus evaluates each on one core; the count stays one per figure.
    with ThreadPoolExecutor(max_workers=settings.query_concurrency) as pool:
        for figure, result, error in pool.map(one, sent.items()):
            if result is not None:
                results[figure] = result
            if error is not None:
                errors.append(error)
    attribute(results, usages)
    for usage in usages:
        usage.errors.extend(errors)
    return usages, sent
