"""``/metrics``: kube-state-metrics and cAdvisor series derived from the live store.

Series names and labels follow kube-state-metrics v2 and the kubelet's cAdvisor endpoint, so the
PromQL in rules works unchanged against a real Prometheus scraping the sandbox. Usage (memory,
CPU) comes from the pod's outcome case or ``sandbox.aiops.dev/usage-*`` annotations, else from a
small default; CPU counters grow with the sandbox clock since the container started.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sandbox import load, podstatus, rolling, traffic
from sandbox.resources import of_kind
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity, parse_time
from sandbox.usage import container_usage

_UNITS = {"cpu": "core", "memory": "byte", "ephemeral-storage": "byte", "storage": "byte"}
_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
_HELP = {
    "kube_pod_container_status_restarts_total": (
        "counter",
        "The number of container restarts per container.",
    ),
    "container_cpu_usage_seconds_total": ("counter", "Cumulative cpu time consumed in seconds."),
    "container_cpu_cfs_periods_total": ("counter", "Number of elapsed enforcement period intervals."),
    "container_cpu_cfs_throttled_periods_total": ("counter", "Number of throttled period intervals."),
}


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


class Exposition:
    """Samples grouped by family, written in the Prometheus text format (version 0.0.4)."""

    def __init__(self) -> None:
        self.families: dict[str, list[tuple[dict[str, Any], float]]] = defaultdict(list)

    def add(self, name: str, labels: dict[str, Any], value: float) -> None:
        self.families[name].append((labels, value))

    def text(self) -> str:
        out = []
        for name in sorted(self.families):
            kind, help_text = _HELP.get(name, ("gauge", name.replace("_", " ") + "."))
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            for labels, value in self.families[name]:
                text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
                out.append(f"{name}{{{text}}} {_number(value)}")
        return "\n".join(out) + "\n"


def _resources(x: Exposition, name: str, base: dict[str, Any], amounts: dict[str, Any] | None) -> None:
    for resource, amount in (amounts or {}).items():
        unit = _UNITS.get(resource, "integer")
        x.add(
            name,
            {**base, "resource": resource.replace(".", "_").replace("/", "_"), "unit": unit},
            parse_quantity(amount),
        )


def _pod_series(x: Exposition, store: ObjectStore, pod: dict[str, Any], now: float) -> None:
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    base = {"namespace": meta["namespace"], "pod": meta["name"], "uid": meta.get("uid", "")}
    node = spec.get("nodeName", "")
    owner: dict[str, Any] = next(iter(meta.get("ownerReferences") or []), {})
    x.add(
        "kube_pod_info",
        {
            **base,
            "host_ip": status.get("hostIP", ""),
            "pod_ip": status.get("podIP", ""),
            "node": node,
            "created_by_kind": owner.get("kind", ""),
            "created_by_name": owner.get("name", ""),
            "priority_class": "",
        },
        1,
    )
    x.add(
        "kube_pod_owner",
        {
            **base,
            "owner_kind": owner.get("kind", "<none>"),
            "owner_name": owner.get("name", "<none>"),
            "owner_is_controller": str(bool(owner.get("controller"))).lower(),
        },
        1,
    )
    x.add("kube_pod_created", base, parse_time(meta["creationTimestamp"]))
    for phase in _PHASES:
        x.add("kube_pod_status_phase", {**base, "phase": phase}, int(status.get("phase") == phase))
    ready = next(
        (c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), "Unknown"
    )
    for condition in ("true", "false", "unknown"):
        x.add("kube_pod_status_ready", {**base, "condition": condition}, int(ready.lower() == condition))
    statuses = {c["name"]: c for c in status.get("containerStatuses") or []}
    for container in spec.get("containers") or []:
        labels = {**base, "container": container["name"]}
        resources = container.get("resources") or {}
        _resources(
            x, "kube_pod_container_resource_requests", {**labels, "node": node}, resources.get("requests")
        )
        _resources(x, "kube_pod_container_resource_limits", {**labels, "node": node}, resources.get("limits"))
        cs = statuses.get(container["name"])
        if cs is None:
            continue
        _container_series(x, labels, cs)
        state = cs.get("state") or {}
        if "running" in state or "CrashLoopBackOff" in str(state.get("waiting")):
            usage = container_usage(store, pod, container)
            counter = load.model(store).cpu_seconds(meta.get("uid", ""), container["name"])
            _cadvisor_series(x, pod, container, cs, usage=usage, now=now, cpu_seconds=counter)


def _container_series(x: Exposition, labels: dict[str, Any], cs: dict[str, Any]) -> None:
    state, last = cs.get("state") or {}, (cs.get("lastState") or {}).get("terminated")
    x.add(
        "kube_pod_container_info",
        {
            **labels,
            "image_spec": cs.get("image", ""),
            "image": cs.get("image", ""),
            "image_id": cs.get("imageID", ""),
            "container_id": cs.get("containerID", ""),
        },
        1,
    )
    x.add("kube_pod_container_status_restarts_total", labels, cs.get("restartCount", 0))
    x.add("kube_pod_container_status_ready", labels, int(bool(cs.get("ready"))))
    for which in ("running", "waiting", "terminated"):
        x.add(f"kube_pod_container_status_{which}", labels, int(which in state))
    if "waiting" in state:
        x.add(
            "kube_pod_container_status_waiting_reason",
            {**labels, "reason": (state["waiting"] or {}).get("reason", "")},
            1,
        )
    if "terminated" in state:
        x.add(
            "kube_pod_container_status_terminated_reason",
            {**labels, "reason": state["terminated"].get("reason", "")},
            1,
        )
    if last:
        x.add(
            "kube_pod_container_status_last_terminated_reason",
            {**labels, "reason": last.get("reason", "")},
            1,
        )
        x.add("kube_pod_container_status_last_terminated_exitcode", labels, last.get("exitCode", 0))


def _cadvisor_series(
    x: Exposition,
    pod: dict[str, Any],
    container: dict[str, Any],
    cs: dict[str, Any],
    *,
    usage: dict[str, float],
    now: float,
    cpu_seconds: float | None = None,
) -> None:
    """``cpu_seconds``: the counter when the usage model integrates it (fixed-load workloads)."""
    meta = pod["metadata"]
    started = (
        (cs.get("state") or {}).get("running", {}).get("startedAt")
        or ((cs.get("lastState") or {}).get("terminated") or {}).get("startedAt")
        or meta["creationTimestamp"]
    )
    elapsed = max(0.0, now - parse_time(started))
    qos = (pod.get("status") or {}).get("qosClass", "burstable").lower()
    cid = cs.get("containerID", "").split("://")[-1]
    labels = {
        "container": container["name"],
        "id": f"/kubepods/{qos}/pod{meta.get('uid', '')}/{cid}",
        "image": container.get("image", ""),
        "name": cid,
        "namespace": meta["namespace"],
        "pod": meta["name"],
    }
    x.add("container_memory_working_set_bytes", labels, usage["memory"])
    counter = usage["cpu"] * elapsed if cpu_seconds is None else cpu_seconds
    x.add("container_cpu_usage_seconds_total", labels, round(counter, 6))
    limits = (container.get("resources") or {}).get("limits") or {}
    if "memory" in limits:
        x.add("container_spec_memory_limit_bytes", labels, parse_quantity(limits["memory"]))
    if "cpu" in limits:
        periods = int(elapsed / 0.1)
        x.add("container_cpu_cfs_periods_total", labels, periods)
        x.add("container_cpu_cfs_throttled_periods_total", labels, int(periods * usage["throttled"]))


def _workload_series(x: Exposition, store: ObjectStore) -> None:
    for dep in store.items(of_kind("Deployment")):
        meta, spec, status = dep["metadata"], dep.get("spec") or {}, dep.get("status") or {}
        labels = {"namespace": meta["namespace"], "deployment": meta["name"]}
        x.add("kube_deployment_spec_replicas", labels, spec.get("replicas", 1))
        x.add("kube_deployment_spec_paused", labels, int(bool(spec.get("paused"))))
        x.add("kube_deployment_metadata_generation", labels, meta.get("generation", 1))
        x.add("kube_deployment_status_observed_generation", labels, status.get("observedGeneration", 0))
        for key, suffix in (
            ("replicas", ""),
            ("availableReplicas", "_available"),
            ("readyReplicas", "_ready"),
            ("unavailableReplicas", "_unavailable"),
            ("updatedReplicas", "_updated"),
        ):
            x.add(f"kube_deployment_status_replicas{suffix}", labels, status.get(key, 0))
    for rs in store.items(of_kind("ReplicaSet")):
        meta = rs["metadata"]
        labels = {"namespace": meta["namespace"], "replicaset": meta["name"]}
        owner: dict[str, Any] = next(iter(meta.get("ownerReferences") or []), {})
        x.add(
            "kube_replicaset_owner",
            {
                **labels,
                "owner_kind": owner.get("kind", "<none>"),
                "owner_name": owner.get("name", "<none>"),
                "owner_is_controller": str(bool(owner.get("controller"))).lower(),
            },
            1,
        )
        x.add("kube_replicaset_spec_replicas", labels, (rs.get("spec") or {}).get("replicas", 1))
        x.add(
            "kube_replicaset_status_ready_replicas", labels, (rs.get("status") or {}).get("readyReplicas", 0)
        )


def _node_series(x: Exposition, store: ObjectStore) -> None:
    for node in store.items(of_kind("Node")):
        name, status = node["metadata"]["name"], node.get("status") or {}
        info = status.get("nodeInfo") or {}
        internal = next(
            (a["address"] for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), ""
        )
        x.add(
            "kube_node_info",
            {
                "node": name,
                "kernel_version": info.get("kernelVersion", ""),
                "os_image": info.get("osImage", ""),
                "internal_ip": internal,
                "kubelet_version": info.get("kubeletVersion", ""),
                "container_runtime_version": info.get("containerRuntimeVersion", ""),
            },
            1,
        )
        x.add(
            "kube_node_spec_unschedulable",
            {"node": name},
            int(bool((node.get("spec") or {}).get("unschedulable"))),
        )
        for condition in status.get("conditions") or []:
            for value in ("true", "false", "unknown"):
                x.add(
                    "kube_node_status_condition",
                    {"node": name, "condition": condition["type"], "status": value},
                    int(condition.get("status", "Unknown").lower() == value),
                )
        _resources(x, "kube_node_status_capacity", {"node": name}, status.get("capacity"))
        _resources(x, "kube_node_status_allocatable", {"node": name}, status.get("allocatable"))


# --- usage for the metrics API, and the HPA and PodDisruptionBudget series ------------------------
_METRIC_SOURCES = {
    "Object": "object",
    "Pods": "pods",
    "Resource": "resource",
    "ContainerResource": "containerResource",
    "External": "external",
}
_TARGET_TYPES = (("value", "value"), ("averageValue", "average"), ("averageUtilization", "utilization"))


def _metric_values(metric: dict[str, Any], section: str) -> list[tuple[str, str, float]]:
    """(metric_name, metric_target_type, value) of an HPA metric's target or current, as in KSM."""
    kind = metric.get("type") or ""
    if kind not in _METRIC_SOURCES:
        return []
    source = metric.get(_METRIC_SOURCES[kind]) or {}
    named = source if kind in ("Resource", "ContainerResource") else source.get("metric") or {}
    values = source.get(section) or {}
    return [
        (named.get("name", ""), label, parse_quantity(values[key]))
        for key, label in _TARGET_TYPES
        if values.get(key) is not None
    ]


def _autoscaling_series(x: Exposition, store: ObjectStore) -> None:
    """kube-state-metrics v2 series of HorizontalPodAutoscalers and PodDisruptionBudgets."""
    for hpa in store.items(of_kind("HorizontalPodAutoscaler")):
        meta, spec, status = hpa["metadata"], hpa.get("spec") or {}, hpa.get("status") or {}
        labels = {"namespace": meta["namespace"], "horizontalpodautoscaler": meta["name"]}
        ref = spec.get("scaleTargetRef") or {}
        x.add(
            "kube_horizontalpodautoscaler_info",
            {**labels, "scaletargetref_api_version": ref.get("apiVersion", ""),
             "scaletargetref_kind": ref.get("kind", ""), "scaletargetref_name": ref.get("name", "")},
            1,
        )  # fmt: skip
        x.add("kube_horizontalpodautoscaler_metadata_generation", labels, meta.get("generation", 1))
        x.add("kube_horizontalpodautoscaler_spec_min_replicas", labels, spec.get("minReplicas", 1))
        x.add("kube_horizontalpodautoscaler_spec_max_replicas", labels, spec.get("maxReplicas", 1))
        for family, metrics, section in (
            ("spec_target_metric", spec.get("metrics") or [], "target"),
            ("status_target_metric", status.get("currentMetrics") or [], "current"),
        ):
            for metric in metrics:
                for name, target_type, value in _metric_values(metric, section):
                    metric_labels = {**labels, "metric_name": name, "metric_target_type": target_type}
                    x.add(f"kube_horizontalpodautoscaler_{family}", metric_labels, value)
        for key, suffix in (("currentReplicas", "current_replicas"), ("desiredReplicas", "desired_replicas")):
            x.add(f"kube_horizontalpodautoscaler_status_{suffix}", labels, status.get(key, 0))
        for condition in status.get("conditions") or []:
            for state in ("true", "false", "unknown"):
                x.add(
                    "kube_horizontalpodautoscaler_status_condition",
                    {**labels, "condition": condition["type"], "status": state},
                    int(condition.get("status", "Unknown").lower() == state),
                )
    for pdb in store.items(of_kind("PodDisruptionBudget")):
        meta, status = pdb["metadata"], pdb.get("status") or {}
        labels = {"namespace": meta["namespace"], "poddisruptionbudget": meta["name"]}
        x.add("kube_poddisruptionbudget_created", labels, parse_time(meta["creationTimestamp"]))
        for key, suffix in (
            ("currentHealthy", "current_healthy"),
            ("desiredHealthy", "desired_healthy"),
            ("disruptionsAllowed", "pod_disruptions_allowed"),
            ("expectedPods", "expected_pods"),
            ("observedGeneration", "observed_generation"),
        ):
            x.add(f"kube_poddisruptionbudget_status_{suffix}", labels, status.get(key, 0))


def label_name(key: str) -> str:
    """A label key as kube-state-metrics names it: ``pod-template-hash`` -> ``label_pod_template_hash``."""
    return "label_" + "".join(c if c.isalnum() or c == "_" else "_" for c in key)


def _rollout_series(x: Exposition, store: ObjectStore) -> None:
    """kube-state-metrics series the rollout gate and the reports join on (pod labels, conditions, strategy).

    ``kube_pod_labels`` carries every pod label, as kube-state-metrics does with
    ``--metric-labels-allowlist=pods=[*]``; ``kube_pod_container_state_started`` is the start time of
    each running container.
    """
    for pod in store.items(of_kind("Pod")):
        meta = pod["metadata"]
        base = {"namespace": meta["namespace"], "pod": meta["name"], "uid": meta.get("uid", "")}
        labels = {label_name(k): v for k, v in sorted((meta.get("labels") or {}).items())}
        x.add("kube_pod_labels", {**base, **labels}, 1)
        view = podstatus.view(store, of_kind("Pod"), pod)
        for cs in (view.get("status") or {}).get("containerStatuses") or []:
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
            if started:
                labels = {**base, "container": cs["name"]}
                x.add("kube_pod_container_state_started", labels, parse_time(started))
    for dep in store.items(of_kind("Deployment")):
        meta, status = dep["metadata"], dep.get("status") or {}
        labels = {"namespace": meta["namespace"], "deployment": meta["name"]}
        for condition in status.get("conditions") or []:
            for value in ("true", "false", "unknown"):
                x.add(
                    "kube_deployment_status_condition",
                    {
                        **labels,
                        "reason": condition.get("reason", ""),
                        "condition": condition["type"],
                        "status": value,
                    },
                    int(condition.get("status", "Unknown").lower() == value),
                )
        if (dep["spec"].get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            # As kube-state-metrics: each value scaled on its own, without the fencepost rule.
            strategy = dep["spec"].get("strategy", {}).get("rollingUpdate") or {}
            replicas = dep["spec"].get("replicas", 1)
            for key, round_up in (("maxSurge", True), ("maxUnavailable", False)):
                amount = rolling.scaled_value(strategy.get(key, "25%"), replicas, round_up)
                suffix = "max_surge" if key == "maxSurge" else "max_unavailable"
                x.add(f"kube_deployment_spec_strategy_rollingupdate_{suffix}", labels, amount)
    for rs in store.items(of_kind("ReplicaSet")):
        labels = {"namespace": rs["metadata"]["namespace"], "replicaset": rs["metadata"]["name"]}
        x.add("kube_replicaset_status_replicas", labels, (rs.get("status") or {}).get("replicas", 0))


def _traffic_text(store: ObjectStore, scenario: dict[str, Any], now: float) -> str:
    """``http_requests_total`` and ``http_request_duration_seconds`` (sandbox/traffic.py), as text."""
    return traffic.exposition(store, scenario, now)


def render(store: ObjectStore, scenario: dict[str, Any] | None = None) -> str:
    """The whole exposition for one scrape (``scenario``: the parsed scenario.yaml, for traffic)."""
    x = Exposition()
    with store.lock:
        now = store.clock.time()
        pod_type = of_kind("Pod")
        for pod in store.items(pod_type):
            _pod_series(x, store, podstatus.view(store, pod_type, pod), now)
        _workload_series(x, store)
        _autoscaling_series(x, store)
        _node_series(x, store)
        _rollout_series(x, store)
        extra = _traffic_text(store, scenario or {}, now)
    return x.text() + extra
