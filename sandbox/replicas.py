"""The HPA's replica calculator: resource metrics of the target's pods, and the replica count they ask for.

It follows kube-controller-manager's ``replica_calculator.go``: pods are grouped into ready, ignored
(pending, or unready CPU samples during start-up) and missing (no metrics); the usage ratio is the
mean utilization over the pods with metrics divided by the target, with the 0.1 tolerance; unready
and missing pods are counted pessimistically in the direction of the change; desired is
``ceil(ratio * ready pods)``. Per-pod usage is what the metrics API would report: the sandbox's usage
model (``sandbox.load`` for fixed-total workloads, else ``usage.container_usage``). The metrics API
exists only when the ``v1beta1.metrics.k8s.io`` APIService is present and Available.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sandbox.resources import of_kind
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity, parse_time
from sandbox.usage import container_usage

METRICS_API = "v1beta1.metrics.k8s.io"
"""The APIService that serves ``metrics.k8s.io`` (metrics-server in a real cluster)."""
APISERVICE = of_kind("APIService")
_SI = ((10**18, "E"), (10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))


class MetricFailure(Exception):
    """A metric could not be computed: ``reason`` becomes the ScalingActive=False reason."""

    def __init__(self, reason: str, message: str, wrapped: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.wrapped = wrapped or message
        """The error as the controller reports it one level up (``failed to get cpu utilization: ...``)."""


@dataclass(frozen=True)
class Tuning:
    """The controller flags that the calculator uses (kube-controller-manager's defaults)."""

    tolerance: float = 0.1
    cpu_initialization_period_s: float = 300.0
    initial_readiness_delay_s: float = 30.0
    metrics_window_s: float = 15.0
    """The window metrics-server reports with each sample; a pod's first window after Ready is ignored."""


@dataclass
class Proposal:
    """One metric's answer: the replica count it wants, its status entry and its name for messages."""

    replicas: int
    status: dict[str, Any]
    name: str
    extra: dict[str, Any] = field(default_factory=dict)


def milli_quantity(milli: int) -> str:
    """A milli-value written as Kubernetes canonicalises a DecimalSI quantity: ``425m``, ``2``, ``300M``."""
    if milli % 1000:
        return f"{milli}m"
    units = milli // 1000
    for factor, suffix in _SI:
        if units and units % factor == 0:
            return f"{units // factor}{suffix}"
    return str(units)


def metrics_api_error(store: ObjectStore) -> str | None:
    """Why the resource metrics API cannot answer (None when ``v1beta1.metrics.k8s.io`` is Available)."""
    service = store.get(APISERVICE, "", METRICS_API)
    if service is None:
        return "the server could not find the requested resource (get pods.metrics.k8s.io)"
    conditions = (service.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions):
        return "the server is currently unable to handle the request (get pods.metrics.k8s.io)"
    return None


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _running(pod: dict[str, Any], container: str | None) -> list[str]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return [
        c["name"]
        for c in statuses
        if "running" in (c.get("state") or {}) and (container is None or c["name"] == container)
    ]


def pod_metrics(
    store: ObjectStore, pods: list[dict[str, Any]], resource: str, container: str | None
) -> dict[str, int]:
    """What the metrics API reports: pod name -> usage in milli-units, for pods with running containers."""
    found: dict[str, int] = {}
    for pod in pods:
        by_name = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
        running = _running(pod, container)
        if not running:
            continue
        total = sum(container_usage(store, pod, by_name[name])[resource] for name in running)
        found[pod["metadata"]["name"]] = round(total * 1000)
    return found


def group_pods(
    pods: list[dict[str, Any]], metrics: dict[str, int], resource: str, now: float, tuning: Tuning
) -> tuple[int, set[str], set[str]]:
    """(ready pod count, ignored pods, pods missing metrics), as ``groupPods`` classifies them."""
    ready, ignored, missing = 0, set(), set()
    for pod in pods:
        name, status = pod["metadata"]["name"], pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            continue
        if status.get("phase") == "Pending":
            ignored.add(name)
            continue
        if name not in metrics:
            missing.add(name)
            continue
        if resource == "cpu":
            condition, started = _condition(pod, "Ready"), status.get("startTime")
            if condition is None or started is None:
                skip = True
            else:
                start, since = parse_time(started), parse_time(condition["lastTransitionTime"])
                if start + tuning.cpu_initialization_period_s > now:
                    # Still starting: an unready pod, or a sample whose window began before it was ready.
                    skip = condition.get("status") == "False" or now < since + tuning.metrics_window_s
                else:
                    skip = (
                        condition.get("status") == "False"
                        and start + tuning.initial_readiness_delay_s > since
                    )
            if skip:
                ignored.add(name)
                continue
        ready += 1
    return ready, ignored, missing


def pod_requests(pods: list[dict[str, Any]], resource: str, container: str | None) -> dict[str, int]:
    """Pod name -> the summed request in milli-units; a container without one is an error."""
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        for c in (pod.get("spec") or {}).get("containers") or []:
            if container is not None and c["name"] != container:
                continue
            request = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if request is None:
                raise MetricFailure(
                    "FailedGetResourceMetric",
                    f"missing request for {resource} in container {c['name']} of Pod "
                    f"{pod['metadata']['name']}",
                )
            total += round(parse_quantity(request) * 1000)
        requests[pod["metadata"]["name"]] = total
    return requests


def _utilization_ratio(
    metrics: dict[str, int], requests: dict[str, int], target: int
) -> tuple[float, int, int]:
    """(usage ratio, utilization %, raw average) the way ``GetResourceUtilizationRatio`` computes them."""
    used = requested = count = 0
    for name, value in metrics.items():
        if name in requests:
            used, requested, count = used + value, requested + requests[name], count + 1
    if requested == 0:
        raise MetricFailure("FailedGetResourceMetric", "no metrics returned matched known pods")
    utilization = used * 100 // requested  # integer percent, as the controller truncates it
    return utilization / target, utilization, used // count


def _rebalance(
    metrics: dict[str, int],
    ratio: float,
    ignored: set[str],
    missing: set[str],
    when_down: dict[str, int],
    plain: bool = False,
) -> bool:
    """Fill in pessimistic values for missing and ignored pods; True when the ratio must be recomputed."""
    rebalance_ignored = bool(ignored) and ratio > 1.0
    if not rebalance_ignored and not missing:
        return False
    for name in missing:  # a ratio of exactly 1 leaves them out, as the controller does
        if ratio < 1.0:
            metrics[name] = when_down[name]
        elif ratio > 1.0 or plain:
            metrics[name] = 0
    if rebalance_ignored:
        for name in ignored:
            metrics[name] = 0
    return True


def utilization_replicas(
    current: int,
    target: int,
    pods: list[dict[str, Any]],
    metrics: dict[str, int],
    resource: str,
    container: str | None,
    now: float,
    tuning: Tuning,
) -> tuple[int, int, int]:
    """(replicas, utilization %, raw average milli-value) for an ``averageUtilization`` target."""
    ready, ignored, missing = group_pods(pods, metrics, resource, now, tuning)
    for name in ignored:
        metrics.pop(name, None)
    requests = pod_requests(pods, resource, container)
    if not metrics:
        raise MetricFailure("FailedGetResourceMetric", "did not receive metrics for any ready pods")
    ratio, utilization, raw = _utilization_ratio(metrics, requests, target)
    if not _rebalance(metrics, ratio, ignored, missing, requests):
        if abs(1.0 - ratio) <= tuning.tolerance:
            return current, utilization, raw
        return math.ceil(ratio * ready), utilization, raw
    new_ratio, _, _ = _utilization_ratio(metrics, requests, target)
    if abs(1.0 - new_ratio) <= tuning.tolerance or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current, utilization, raw
    replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current, utilization, raw
    return replicas, utilization, raw


def average_value_replicas(
    current: int,
    target_milli: int,
    pods: list[dict[str, Any]],
    metrics: dict[str, int],
    resource: str,
    now: float,
    tuning: Tuning,
) -> tuple[int, int]:
    """(replicas, average milli-value) for an ``averageValue`` target (``calcPlainMetricReplicas``)."""
    if not pods:
        raise MetricFailure(
            "FailedGetResourceMetric", "no pods returned by selector while calculating replica count"
        )
    ready, ignored, missing = group_pods(pods, metrics, resource, now, tuning)
    for name in ignored:
        metrics.pop(name, None)
    if not metrics:
        raise MetricFailure("FailedGetResourceMetric", "did not receive metrics for any ready pods")
    average = sum(metrics.values()) // len(metrics)
    ratio = average / target_milli
    if not _rebalance(metrics, ratio, ignored, missing, dict.fromkeys(missing, target_milli), plain=True):
        if abs(1.0 - ratio) <= tuning.tolerance:
            return current, average
        return math.ceil(ratio * ready), average
    new_ratio = (sum(metrics.values()) // len(metrics)) / target_milli
    if abs(1.0 - new_ratio) <= tuning.tolerance or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current, average
    return math.ceil(new_ratio * len(metrics)), average


def resource_proposal(
    store: ObjectStore,
    spec: dict[str, Any],
    current: int,
    pods: list[dict[str, Any]],
    now: float,
    tuning: Tuning,
) -> Proposal:
    """The replica count one ``Resource`` or ``ContainerResource`` metric asks for."""
    kind = spec["type"]
    source = spec["resource"] if kind == "Resource" else spec["containerResource"]
    resource, container, target = source["name"], source.get("container"), source.get("target") or {}
    label = f"{resource} resource" if kind == "Resource" else f"{resource} container resource"
    reason = "FailedGetResourceMetric" if kind == "Resource" else "FailedGetContainerResourceMetric"
    what = "utilization" if kind == "Resource" else "container utilization"
    try:
        unavailable = metrics_api_error(store)
        if unavailable is not None:
            raise MetricFailure(
                reason,
                f"unable to get metrics for resource {resource}: unable to fetch metrics from resource "
                f"metrics API: {unavailable}",
            )
        metrics = pod_metrics(store, pods, resource, container)
        if not metrics:
            none = "no metrics returned from resource metrics API"
            raise MetricFailure(reason, f"unable to get metrics for resource {resource}: {none}")
        key = "resource" if kind == "Resource" else "containerResource"
        identity = {"name": resource, **({"container": container} if container else {})}
        if target.get("averageValue") is not None:
            target_milli = round(parse_quantity(target["averageValue"]) * 1000)
            replicas, average = average_value_replicas(
                current, target_milli, pods, metrics, resource, now, tuning
            )
            average_status = {
                "type": kind,
                key: {**identity, "current": {"averageValue": milli_quantity(average)}},
            }
            return Proposal(replicas, average_status, label)
        if target.get("averageUtilization") is None:
            raise MetricFailure(
                reason,
                "invalid resource metric source: neither a utilization target nor a value target was set",
            )
        replicas, utilization, raw = utilization_replicas(
            current, int(target["averageUtilization"]), pods, metrics, resource, container, now, tuning
        )
    except MetricFailure as failure:
        failure.reason = reason
        failure.wrapped = f"failed to get {resource} {what}: {failure.message}"
        raise
    current_value: dict[str, Any] = {"averageUtilization": utilization, "averageValue": milli_quantity(raw)}
    status = {"type": kind, key: {**identity, "current": current_value}}
    return Proposal(replicas, status, f"{label} utilization (percentage of request)")


def custom_failure(spec: dict[str, Any]) -> MetricFailure:
    """Pods, Object and External metrics need an adapter API the sandbox never serves."""
    kind = spec.get("type", "")
    if kind in ("Pods", "Object"):
        source = spec.get("pods" if kind == "Pods" else "object") or {}
        name = (source.get("metric") or {}).get("name", "")
        message = (
            f"unable to get metric {name}: unable to fetch metrics from custom metrics API: "
            "no custom metrics API (custom.metrics.k8s.io) registered"
        )
        return MetricFailure(
            f"FailedGet{kind}Metric", message, f"failed to get {kind.lower()} metric value: {message}"
        )
    if kind == "External":
        name = ((spec.get("external") or {}).get("metric") or {}).get("name", "")
        message = (
            f"unable to get external metric {name}: unable to fetch metrics from external metrics API: "
            "no external metrics API (external.metrics.k8s.io) registered"
        )
        return MetricFailure(
            "FailedGetExternalMetric", message, f"failed to get {name} external metric: {message}"
        )
    message = f'unknown metric source type "{kind}"'
    return MetricFailure("InvalidMetricSourceType", message)
