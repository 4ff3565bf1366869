"""HorizontalPodAutoscalers on the sandbox: CRUD, status, and the controller's algorithm on a fixed load."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch
from prometheus_client.parser import text_string_to_metric_families

from sandbox.api import ADMIN_TOKEN
from sandbox.errors import ScenarioError
from sandbox.load import TOTAL_CPU
from sandbox.server import SandboxCluster
from tests.support.sandbox_api import NOW

AVAILABLE = {"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed",
             "lastTransitionTime": "2026-11-25T09:00:00Z"}  # fmt: skip
METRICS_API = {
    "apiVersion": "apiregistration.k8s.io/v1",
    "kind": "APIService",
    "metadata": {"name": "v1beta1.metrics.k8s.io"},
    "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
             "versionPriority": 100, "service": {"name": "metrics-server", "namespace": "kube-system"}},
    "status": {"conditions": [AVAILABLE]},
}  # fmt: skip
NO_METRICS_API = (
    "the HPA was unable to compute the replica count: unable to get metrics for resource cpu: "
    "unable to fetch metrics from resource metrics API: "
    "the server could not find the requested resource (get pods.metrics.k8s.io)"
)
UP_REASON = "cpu resource utilization (percentage of request) above target"


def _deployment(replicas: int, total_millicores: int, cpu_request: str | None = "500m") -> dict[str, Any]:
    resources = {"requests": {"cpu": cpu_request, "memory": "128Mi"}} if cpu_request else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "annotations": {TOTAL_CPU: str(total_millicores)}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": resources}]},
            },
        },
    }


def _scenario(tmp_path: Path, *docs: dict[str, Any], settings: dict[str, Any] | None = None) -> Path:
    directory = tmp_path / "scaling"
    directory.mkdir()
    (directory / "web.yaml").write_text(yaml.safe_dump_all(docs))
    (directory / "scenario.yaml").write_text(yaml.safe_dump({"hpa": settings or {"sync_period_s": 1}}))
    return directory


def _hpa(minimum: int = 2, maximum: int = 10, target: int = 60, **spec: Any) -> dict[str, Any]:
    cpu = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}
    metric = {"type": "Resource", "resource": cpu}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [metric],
            **spec,
        },
    }


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """Start a cluster from the given manifests (clock frozen at NOW); every cluster is stopped after."""
    started: list[SandboxCluster] = []

    def _start(*docs: dict[str, Any], settings: dict[str, Any] | None = None) -> SandboxCluster:
        cluster = SandboxCluster.from_dir(_scenario(tmp_path, *docs, settings=settings), clock=lambda: NOW)
        started.append(cluster.start())
        return cluster

    yield _start
    for cluster in started:
        cluster.stop()


class Apis:
    def __init__(self, cluster: SandboxCluster) -> None:
        self.api = cluster.api_client()
        self.auto = client.AutoscalingV2Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.core = client.CoreV1Api(self.api)

    def status(self) -> dict[str, Any]:
        hpa = self.auto.read_namespaced_horizontal_pod_autoscaler("web", "shop")
        status: dict[str, Any] = self.api.sanitize_for_serialization(hpa.status) or {}
        status["conditions"] = {c["type"]: c for c in status.get("conditions") or []}
        return status

    def replicas(self) -> int:
        return int(self.apps.read_namespaced_deployment("web", "shop").spec.replicas)

    def pod_cpu(self) -> set[str]:
        """The averageValue of the cpu metric the HPA last read."""
        return {m["resource"]["current"]["averageValue"] for m in self.status().get("currentMetrics") or []}

    def ready_pods(self) -> int:
        pods = self.core.list_namespaced_pod("shop", label_selector="app=web").items
        return sum(1 for p in pods if all(c.ready for c in p.status.container_statuses or []))


def _sync(cluster: SandboxCluster, apis: Apis, seconds: float = 20) -> dict[str, Any]:
    """Let sandbox time pass (more than the 1 s sync period and the 15 s metrics window), then read status."""
    cluster.advance(seconds)
    return apis.status()


def _post(cluster: SandboxCluster, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST over plain HTTP, for bodies the official client validates away before sending."""
    request = urllib.request.Request(
        f"{cluster.url}{path}", json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _scrape(cluster: SandboxCluster) -> dict[str, list[Any]]:
    with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def _value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    found = [s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return float(found[0])


def test_crud_defaults_and_status_subresource(start: Any) -> None:
    cluster = start(_deployment(2, 600), METRICS_API)
    apis = Apis(cluster)
    bare = _hpa()
    del bare["spec"]["minReplicas"], bare["spec"]["metrics"]
    bare["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    created = apis.api.sanitize_for_serialization(
        apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", bare)
    )
    assert created["spec"]["minReplicas"] == 1
    assert created["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
        }
    ]
    assert created["spec"]["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 60, "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }  # fmt: skip
    assert created["spec"]["behavior"]["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]
    listed = apis.auto.list_horizontal_pod_autoscaler_for_all_namespaces().items
    assert [h.metadata.name for h in listed] == ["web"]
    apis.auto.patch_namespaced_horizontal_pod_autoscaler("web", "shop", {"spec": {"maxReplicas": 7}})
    json_patch = [{"op": "replace", "path": "/spec/minReplicas", "value": 2}]
    patched = apis.auto.patch_namespaced_horizontal_pod_autoscaler("web", "shop", json_patch)
    assert (patched.spec.min_replicas, patched.spec.max_replicas, patched.metadata.generation) == (2, 7, 3)
    # The status subresource changes status only, whatever else the body says.
    body = {"spec": {"maxReplicas": 99}, "status": {"desiredReplicas": 5, "currentReplicas": 2}}
    written = apis.auto.patch_namespaced_horizontal_pod_autoscaler_status("web", "shop", body)
    assert (written.spec.max_replicas, written.status.desired_replicas) == (7, 5)
    bad = {**_hpa(), "metadata": {"name": "bad"}, "spec": {"minReplicas": 1}}  # the client would refuse it
    code, refused = _post(cluster, "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers", bad)
    assert code == 422 and "spec.maxReplicas: Required value" in refused["message"]
    apis.auto.delete_namespaced_horizontal_pod_autoscaler("web", "shop")
    with pytest.raises(client.ApiException) as gone:
        apis.auto.read_namespaced_horizontal_pod_autoscaler("web", "shop")
    assert gone.value.status == 404


def test_watch_sees_the_controller_write_status(start: Any) -> None:
    cluster = start(_deployment(2, 1800), METRICS_API)
    apis = Apis(cluster)
    version = apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa()).metadata.resource_version
    cluster.advance(20)
    events = watch.Watch().stream(
        apis.auto.list_namespaced_horizontal_pod_autoscaler,
        "shop",
        resource_version=version,
        timeout_seconds=5,
    )
    first = next(events)
    events.close()
    assert first["type"] == "MODIFIED" and first["object"].status.desired_replicas == 4


def test_scales_up_while_per_pod_usage_falls(start: Any) -> None:
    # 1.8 cores of load over 2 pods requesting 500m: 900m each, 180 % against a 60 % target.
    cluster = start(_deployment(2, 1800), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    status = _sync(cluster, apis)
    # ceil(2 * 180 / 60) = 6, limited to max(2 * 2, 4) on one sync without spec.behavior.
    assert apis.replicas() == 4 and status["desiredReplicas"] == 4 and status["currentReplicas"] == 2
    assert status["currentMetrics"][0]["resource"]["current"] == {
        "averageUtilization": 180,
        "averageValue": "900m",
    }
    assert status["conditions"]["ScalingLimited"]["reason"] == "ScaleUpLimit"
    assert status["conditions"]["AbleToScale"]["reason"] == "SucceededRescale"
    assert status["conditions"]["ScalingActive"]["reason"] == "ValidMetricFound"
    assert status["lastScaleTime"] is not None
    assert apis.ready_pods() == 4
    status = _sync(cluster, apis)
    assert apis.pod_cpu() == {"450m"} and apis.replicas() == 6
    status = _sync(cluster, apis)
    assert apis.pod_cpu() == {"300m"} and apis.replicas() == 6 and status["desiredReplicas"] == 6
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 60
    assert status["conditions"]["ScalingLimited"]["reason"] == "DesiredWithinRange"
    assert status["conditions"]["AbleToScale"]["reason"] == "ReadyForNewScale"
    events = apis.core.list_namespaced_event(
        "shop", field_selector="involvedObject.kind=HorizontalPodAutoscaler"
    )
    rescales = sorted(
        (e for e in events.items if e.reason == "SuccessfulRescale"), key=lambda e: e.first_timestamp
    )
    messages = [e.message for e in rescales]
    assert messages == [f"New size: 4; reason: {UP_REASON}", f"New size: 6; reason: {UP_REASON}"]


def _cpu_rates(cluster: SandboxCluster, seconds: float) -> list[float]:
    """Per-pod CPU of the web pods, from two scrapes of their cAdvisor counters ``seconds`` apart."""

    def counters() -> dict[str, float]:
        samples = _scrape(cluster)["container_cpu_usage_seconds_total"]
        return {s.labels["pod"]: s.value for s in samples if s.labels["pod"].startswith("web-")}

    before = counters()
    cluster.advance(seconds)
    after = counters()
    return sorted(round((after[pod] - value) / seconds, 6) for pod, value in before.items())


def test_cadvisor_counters_grow_at_the_per_pod_share(start: Any) -> None:
    cluster = start(_deployment(3, 1800), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa(minimum=3, maximum=3))
    cluster.advance(30)
    assert _cpu_rates(cluster, 10) == [0.6, 0.6, 0.6]
    apis.auto.patch_namespaced_horizontal_pod_autoscaler(
        "web", "shop", {"spec": {"minReplicas": 6, "maxReplicas": 6}}
    )
    _sync(cluster, apis)
    assert apis.replicas() == 6
    assert _cpu_rates(cluster, 10) == [0.3] * 6  # the same total, shared by twice the pods


def test_no_change_within_tolerance(start: Any) -> None:
    # 650m over 2 pods of 500m: 65 % against 60 %, a ratio of 1.083, inside the 0.1 tolerance.
    cluster = start(_deployment(2, 650), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    status = _sync(cluster, apis)
    assert apis.replicas() == 2 and status["desiredReplicas"] == 2
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 65
    assert status.get("lastScaleTime") is None
    assert status["conditions"]["AbleToScale"]["reason"] == "ReadyForNewScale"
    # 720m: 72 %, a ratio of 1.2, outside it: ceil(2 * 1.2) = 3.
    apis.apps.patch_namespaced_deployment("web", "shop", {"metadata": {"annotations": {TOTAL_CPU: "720"}}})
    status = _sync(cluster, apis)
    assert apis.replicas() == 3 and status["desiredReplicas"] == 3


def test_scale_down_waits_for_the_stabilization_window(start: Any) -> None:
    # 600m over 6 pods of 500m: 20 % against 60 %, so the recommendation is ceil(6 / 3) = 2.
    cluster = start(_deployment(6, 600), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    status = _sync(cluster, apis)
    assert apis.replicas() == 6 and status["desiredReplicas"] == 6
    assert status["conditions"]["AbleToScale"]["reason"] == "ScaleDownStabilized"
    status = _sync(cluster, apis, 260)  # 260 s after the first recommendation of 6
    assert apis.replicas() == 6
    status = _sync(cluster, apis, 60)  # 320 s: the window (300 s) no longer holds it
    assert apis.replicas() == 2 and status["desiredReplicas"] == 2
    assert apis.pod_cpu() == {"100m"}  # read before the scale-down
    status = _sync(cluster, apis)
    assert apis.pod_cpu() == {"300m"} and apis.replicas() == 2


def test_behavior_sets_a_shorter_scale_down_window(start: Any) -> None:
    cluster = start(_deployment(6, 600), METRICS_API)
    apis = Apis(cluster)
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa(behavior=behavior))
    _sync(cluster, apis)
    assert apis.replicas() == 6
    _sync(cluster, apis, 30)  # 30 s after the first recommendation of 6
    assert apis.replicas() == 6
    _sync(cluster, apis, 40)  # 70 s
    assert apis.replicas() == 2


def test_behavior_scale_up_policies_limit_each_period(start: Any) -> None:
    # 12 cores over 2 pods of 500m wants 40 replicas; defaults allow max(4 pods, 100 %) per 15 s.
    cluster = start(_deployment(2, 12000), METRICS_API, settings={"sync_period_s": 1, "metrics_window_s": 0})
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa(maximum=40, behavior={}))
    status = _sync(cluster, apis, 1)
    assert apis.replicas() == 6 and status["conditions"]["ScalingLimited"]["reason"] == "ScaleUpLimit"
    _sync(cluster, apis, 5)  # within the same 15 s period: no more
    assert apis.replicas() == 6
    _sync(cluster, apis, 11)
    assert apis.replicas() == 12


def test_average_value_target(start: Any) -> None:
    # 900m a pod against 450m: ceil(2 * 2) = 4, reached on one sync.
    cluster = start(_deployment(2, 1800), METRICS_API)
    apis = Apis(cluster)
    hpa = _hpa()
    hpa["spec"]["metrics"][0]["resource"]["target"] = {"type": "AverageValue", "averageValue": "450m"}
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", hpa)
    status = _sync(cluster, apis)
    assert status["currentMetrics"][0]["resource"]["current"] == {"averageValue": "900m"}
    assert apis.replicas() == 4
    assert _sync(cluster, apis)["currentMetrics"][0]["resource"]["current"] == {"averageValue": "450m"}
    assert apis.replicas() == 4


def test_scaling_inactive_without_the_metrics_api(start: Any) -> None:
    cluster = start(_deployment(2, 1800))
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    status = _sync(cluster, apis)
    active = status["conditions"]["ScalingActive"]
    assert (active["status"], active["reason"]) == ("False", "FailedGetResourceMetric")
    assert active["message"] == NO_METRICS_API
    assert apis.replicas() == 2 and status["conditions"]["AbleToScale"]["status"] == "True"
    warnings = apis.core.list_namespaced_event("shop", field_selector="reason=FailedGetResourceMetric").items
    assert warnings and warnings[0].type == "Warning"
    registration = client.ApiregistrationV1Api(apis.api)
    down = {**AVAILABLE, "status": "False", "reason": "MissingEndpoints"}
    unavailable = {**METRICS_API, "status": {"conditions": [down]}}
    registration.create_api_service(unavailable)
    status = _sync(cluster, apis)
    assert status["conditions"]["ScalingActive"]["message"].endswith(
        "the server is currently unable to handle the request (get pods.metrics.k8s.io)"
    )
    registration.patch_api_service_status("v1beta1.metrics.k8s.io", {"status": METRICS_API["status"]})
    status = _sync(cluster, apis)
    assert status["conditions"]["ScalingActive"]["status"] == "True" and apis.replicas() == 4


def test_missing_cpu_requests_and_missing_target(start: Any) -> None:
    cluster = start(_deployment(2, 1800, cpu_request=None), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    active = _sync(cluster, apis)["conditions"]["ScalingActive"]
    assert active["reason"] == "FailedGetResourceMetric"
    assert active["message"].startswith(
        "the HPA was unable to compute the replica count: missing request for cpu"
    )
    orphan = _hpa()
    orphan["metadata"]["name"] = "orphan"
    orphan["spec"]["scaleTargetRef"]["name"] = "nope"
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", orphan)
    cluster.advance(20)
    status = apis.api.sanitize_for_serialization(
        apis.auto.read_namespaced_horizontal_pod_autoscaler("orphan", "shop").status
    )
    able = next(c for c in status["conditions"] if c["type"] == "AbleToScale")
    assert (able["status"], able["reason"]) == ("False", "FailedGetScale")
    assert able["message"].endswith('deployments/scale.apps "nope" not found')


def test_hpa_series_on_metrics(start: Any) -> None:
    cluster = start(_deployment(2, 1800), METRICS_API)
    apis = Apis(cluster)
    apis.auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa())
    _sync(cluster, apis)
    samples = _scrape(cluster)
    hpa = {"namespace": "shop", "horizontalpodautoscaler": "web"}
    assert _value(samples, "kube_horizontalpodautoscaler_spec_min_replicas", **hpa) == 2
    assert _value(samples, "kube_horizontalpodautoscaler_spec_max_replicas", **hpa) == 10
    assert _value(samples, "kube_horizontalpodautoscaler_status_current_replicas", **hpa) == 2
    assert _value(samples, "kube_horizontalpodautoscaler_status_desired_replicas", **hpa) == 4
    target = {**hpa, "metric_name": "cpu", "metric_target_type": "utilization"}
    assert _value(samples, "kube_horizontalpodautoscaler_spec_target_metric", **target) == 60
    assert _value(samples, "kube_horizontalpodautoscaler_status_target_metric", **target) == 180
    condition = "kube_horizontalpodautoscaler_status_condition"
    assert _value(samples, condition, **hpa, condition="ScalingActive", status="true") == 1
    assert _value(samples, condition, **hpa, condition="ScalingLimited", status="true") == 1
    assert _value(samples, condition, **hpa, condition="ScalingLimited", status="false") == 0
    info = {**hpa, "scaletargetref_kind": "Deployment", "scaletargetref_name": "web"}
    assert _value(samples, "kube_horizontalpodautoscaler_info", **info) == 1


def test_bad_hpa_settings_are_a_scenario_error(tmp_path: Path) -> None:
    directory = _scenario(tmp_path, _deployment(1, 100), settings={"sync_period_s": 0, "tolerence": 0.2})
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(directory)
    text = str(err.value)
    assert "hpa: unknown key 'tolerence'" in text and "hpa.sync_period_s: must be more than 0" in text
