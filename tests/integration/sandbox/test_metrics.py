"""/metrics: kube-state-metrics and cAdvisor series in the Prometheus text format, from the live store."""

from __future__ import annotations

import urllib.request

from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, app_patch


def _scrape(cluster: SandboxCluster) -> dict[str, list]:
    with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def _value(samples: dict[str, list], name: str, **labels: str) -> float:
    found = [s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_kube_state_metrics_series_for_a_crashlooping_pod(cluster: SandboxCluster) -> None:
    samples = _scrape(cluster)
    pod = {"namespace": "shop", "pod": CRASHING[0], "container": "app"}
    assert _value(samples, "kube_pod_container_status_restarts_total", **pod) == 7
    assert _value(samples, "kube_pod_container_status_waiting_reason", **pod, reason="CrashLoopBackOff") == 1
    assert _value(samples, "kube_pod_container_status_last_terminated_reason", **pod, reason="Error") == 1
    assert (
        _value(samples, "kube_pod_container_resource_limits", **pod, resource="memory", unit="byte")
        == 512 * 2**20
    )
    assert _value(samples, "kube_pod_container_resource_requests", **pod, resource="cpu", unit="core") == 0.2
    assert _value(samples, "kube_pod_status_ready", namespace="shop", pod=CRASHING[0], condition="false") == 1
    assert _value(samples, "kube_pod_status_ready", namespace="shop", pod=CRASHING[0], condition="true") == 0
    assert (
        _value(samples, "kube_deployment_status_replicas_available", namespace="shop", deployment="checkout")
        == 0
    )
    assert _value(samples, "kube_node_status_condition", node="node-1", condition="Ready", status="true") == 1


def test_restarts_follow_the_clock(cluster: SandboxCluster) -> None:
    cluster.advance(20)
    samples = _scrape(cluster)
    restarts = _value(
        samples,
        "kube_pod_container_status_restarts_total",
        namespace="shop",
        pod=CRASHING[0],
        container="app",
    )
    assert restarts == 9


def test_cadvisor_usage_from_annotations_and_outcome_cases(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    samples = _scrape(cluster)
    cart = next(
        p["metadata"]["name"] for p in cluster.list("Pod", "shop") if p["metadata"]["labels"]["app"] == "cart"
    )
    labels = {"namespace": "shop", "pod": cart, "container": "app"}
    assert _value(samples, "container_memory_working_set_bytes", **labels) == 90 * 2**20
    patch = app_patch(env=[{"name": "DATABASE_URL", "value": "postgres://db"}])
    apps.patch_namespaced_deployment("checkout", "shop", patch)
    cluster.advance(100)
    samples = _scrape(cluster)
    fixed = [
        p["metadata"]["name"]
        for p in cluster.list("Pod", "shop")
        if p["metadata"]["labels"]["app"] == "checkout"
    ]
    for name in fixed:
        labels = {"namespace": "shop", "pod": name, "container": "app"}
        assert _value(samples, "container_memory_working_set_bytes", **labels) == 230 * 2**20
        cpu = _value(samples, "container_cpu_usage_seconds_total", **labels)
        assert 0.13 * 95 <= cpu <= 0.13 * 100
        assert _value(samples, "kube_pod_container_status_restarts_total", **labels) == 0


def test_exposition_is_well_formed(cluster: SandboxCluster) -> None:
    with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=5) as response:
        text = response.read().decode()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families["kube_pod_container_status_restarts"] == "counter"
    assert families["container_memory_working_set_bytes"] == "gauge"
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names)), "each family is declared once"
