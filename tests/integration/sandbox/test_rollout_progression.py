"""Progressive rollouts: RollingUpdate steps on the sandbox clock, pause and resume, rollback mid-way,
the progress deadline, and the Deployment status and conditions, read with the official client."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.server import SandboxCluster

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
STEP = 10
MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations: {sandbox.aiops.dev/rollout-step-seconds: "10"}
spec:
  replicas: 3
  progressDeadlineSeconds: 120
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/web:1.0.0
          resources: {requests: {cpu: 100m, memory: 64Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: big, namespace: shop}
spec:
  replicas: 10
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec:
      containers: [{name: app, image: registry.example.com/shop/big:1.0.0}]
"""
SCENARIO = """
rollout_step_seconds: 0
outcomes:
  - deployment: shop/web
    container: app
    cases:
      - when: {image: "*:9.9.9"}
        state: crashloop
        exit_code: 1
      - state: running
"""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SandboxCluster]:
    (tmp_path / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (tmp_path / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    started = SandboxCluster.from_dir(tmp_path, clock=lambda: NOW).start()
    yield started
    started.stop()


@pytest.fixture
def apps(cluster: SandboxCluster) -> Iterator[client.AppsV1Api]:
    with cluster.api_client() as api:
        yield client.AppsV1Api(api)


def _image(tag: str) -> dict:
    image = f"registry.example.com/shop/web:{tag}"
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}


def _sizes(apps: client.AppsV1Api, app: str = "web") -> dict[str, int]:
    """ReplicaSet image tag -> spec.replicas."""
    sets = apps.list_namespaced_replica_set("shop", label_selector=f"app={app}").items
    return {rs.spec.template.spec.containers[0].image.rsplit(":", 1)[1]: rs.spec.replicas for rs in sets}


def _progressing(dep: client.V1Deployment) -> client.V1DeploymentCondition:
    return next(c for c in dep.status.conditions if c.type == "Progressing")


def _ready(cluster: SandboxCluster, apps: client.AppsV1Api) -> client.V1Deployment:
    """The web Deployment once its first pods turned Ready (one step after the sandbox created them)."""
    cluster.advance(STEP)
    dep = apps.read_namespaced_deployment("web", "shop")
    assert (dep.status.available_replicas, _progressing(dep).reason) == (3, "NewReplicaSetAvailable")
    return dep


def test_new_pods_turn_ready_after_the_step(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    dep = apps.read_namespaced_deployment("web", "shop")
    assert (dep.status.replicas, dep.status.ready_replicas, dep.status.available_replicas) == (3, 0, 0)
    assert dep.status.unavailable_replicas == 3
    assert {c.type: (c.status, c.reason) for c in dep.status.conditions}["Available"] == (
        "False",
        "MinimumReplicasUnavailable",
    )
    cluster.advance(STEP - 1)
    assert apps.read_namespaced_deployment("web", "shop").status.ready_replicas == 0
    dep = _ready(cluster, apps)
    assert dep.status.unavailable_replicas is None
    assert _progressing(dep).message.endswith("has successfully progressed.")


def test_max_surge_one_replaces_one_pod_per_step(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    _ready(cluster, apps)
    dep = apps.patch_namespaced_deployment("web", "shop", _image("2.0.0"))
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert _progressing(dep).reason == "NewReplicaSetCreated"
    assert _progressing(dep).message.startswith('Created new replica set "web-')
    seen = [(_sizes(apps), dep.status.updated_replicas, dep.status.available_replicas)]
    for _ in range(3):
        cluster.advance(STEP)
        dep = apps.read_namespaced_deployment("web", "shop")
        seen.append((_sizes(apps), dep.status.updated_replicas, dep.status.available_replicas))
        assert dep.status.replicas <= 4, "maxSurge 1: never more than 4 pods"
        assert dep.status.available_replicas >= 3, "maxUnavailable 0: never fewer than 3 available"
    assert seen == [
        ({"1.0.0": 3, "2.0.0": 1}, 1, 3),
        ({"1.0.0": 2, "2.0.0": 2}, 2, 3),
        ({"1.0.0": 1, "2.0.0": 3}, 3, 3),
        ({"1.0.0": 0, "2.0.0": 3}, 3, 3),
    ]
    assert (dep.status.replicas, dep.status.observed_generation) == (3, dep.metadata.generation)
    conditions = {c.type: (c.status, c.reason) for c in dep.status.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    new = next(rs for rs in apps.list_namespaced_replica_set("shop", label_selector="app=web").items
               if rs.spec.replicas == 3)  # fmt: skip
    assert new.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert new.metadata.labels["pod-template-hash"] == new.metadata.name.removeprefix("web-")
    assert _progressing(dep).message == f'ReplicaSet "{new.metadata.name}" has successfully progressed.'


def test_progressing_reason_while_replicas_move(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    _ready(cluster, apps)
    apps.patch_namespaced_deployment("web", "shop", _image("2.0.0"))
    cluster.advance(STEP)
    dep = apps.read_namespaced_deployment("web", "shop")
    condition = _progressing(dep)
    assert (condition.status, condition.reason) == ("True", "ReplicaSetUpdated")
    assert condition.message.endswith("is progressing.")


def test_paused_rollout_stops_and_resume_continues(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    _ready(cluster, apps)
    apps.patch_namespaced_deployment("web", "shop", _image("2.0.0"))
    dep = apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": True}})
    assert (_progressing(dep).status, _progressing(dep).reason) == ("Unknown", "DeploymentPaused")
    assert _progressing(dep).message == "Deployment is paused"
    for _ in range(4):
        cluster.advance(STEP)
        assert _sizes(apps) == {"1.0.0": 3, "2.0.0": 1}
    dep = apps.read_namespaced_deployment("web", "shop")
    assert (dep.status.updated_replicas, dep.status.ready_replicas) == (1, 4), (
        "the new pod still turned Ready"
    )
    assert _progressing(dep).reason == "DeploymentPaused", "no progress deadline while paused"

    dep = apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": False}})
    assert _sizes(apps) == {"1.0.0": 2, "2.0.0": 2}
    assert _progressing(dep).reason == "ReplicaSetUpdated"
    for _ in range(2):  # the controller acts when the sandbox is looked at: one read per step
        cluster.advance(STEP)
        dep = apps.read_namespaced_deployment("web", "shop")
    assert _sizes(apps) == {"1.0.0": 0, "2.0.0": 3}
    assert _progressing(dep).reason == "NewReplicaSetAvailable"


def test_template_change_while_paused_makes_no_replicaset(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    _ready(cluster, apps)
    apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": True}})
    apps.patch_namespaced_deployment("web", "shop", _image("2.0.0"))
    cluster.advance(3 * STEP)
    assert _sizes(apps) == {"1.0.0": 3}
    apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": False}})
    assert _sizes(apps) == {"1.0.0": 3, "2.0.0": 1}


def test_rollback_while_progressing(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    _ready(cluster, apps)
    with cluster.api_client() as api:
        old = next(iter(apps.list_namespaced_replica_set("shop", label_selector="app=web").items))
        template = api.sanitize_for_serialization(old.spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    apps.patch_namespaced_deployment("web", "shop", _image("2.1.0"))
    cluster.advance(STEP)
    assert _sizes(apps) == {"1.0.0": 2, "2.1.0": 2}

    # What `kubectl rollout undo` sends: the previous ReplicaSet's template, without its hash label.
    dep = apps.patch_namespaced_deployment(
        "web", "shop", [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    restored = apps.read_namespaced_replica_set(old.metadata.name, "shop")
    assert restored.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert restored.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert _sizes(apps) == {"1.0.0": 3, "2.1.0": 1}, "the bad ReplicaSet's unready pod goes first"
    cluster.advance(STEP)
    dep = apps.read_namespaced_deployment("web", "shop")
    assert _sizes(apps) == {"1.0.0": 3, "2.1.0": 0}
    assert (dep.status.updated_replicas, dep.status.available_replicas) == (3, 3)
    assert _progressing(dep).reason == "NewReplicaSetAvailable"
    pods = client.CoreV1Api(apps.api_client).list_namespaced_pod("shop", label_selector="app=web").items
    assert {p.spec.containers[0].image for p in pods} == {"registry.example.com/shop/web:1.0.0"}


def test_progress_deadline_exceeded_when_new_pods_never_turn_ready(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    _ready(cluster, apps)
    apps.patch_namespaced_deployment("web", "shop", _image("9.9.9"))
    cluster.advance(100)
    dep = apps.read_namespaced_deployment("web", "shop")
    assert _progressing(dep).reason == "NewReplicaSetCreated"
    assert _sizes(apps) == {"1.0.0": 3, "9.9.9": 1}, "the crash-looping pod blocks the rollout"
    cluster.advance(21)
    dep = apps.read_namespaced_deployment("web", "shop")
    condition = _progressing(dep)
    assert (condition.status, condition.reason) == ("False", "ProgressDeadlineExceeded")
    assert condition.message.endswith("has timed out progressing.")
    assert {c.type: c.status for c in dep.status.conditions}["Available"] == "True"


def test_percentages_round_surge_up_and_unavailable_down(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    """10 replicas at 25 %/25 %: surge ceil(2.5) = 3, unavailable floor(2.5) = 2."""
    dep = apps.read_namespaced_deployment("big", "shop")
    assert dep.spec.strategy.rolling_update.max_surge == "25%"
    apps.patch_namespaced_deployment(
        "big", "shop", {"metadata": {"annotations": {"sandbox.aiops.dev/rollout-step-seconds": "10"}}}
    )
    image = "registry.example.com/shop/big:2.0.0"
    dep = apps.patch_namespaced_deployment(
        "big", "shop", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    )
    assert _sizes(apps, "big") == {"1.0.0": 8, "2.0.0": 5}
    assert dep.status.replicas == 13 and dep.status.available_replicas == 8


def test_rollout_series_on_metrics(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    _ready(cluster, apps)
    apps.patch_namespaced_deployment("web", "shop", _image("2.0.0"))
    apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": True}})
    import urllib.request

    with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=5) as response:
        samples = [s for f in text_string_to_metric_families(response.read().decode()) for s in f.samples]

    def value(name: str, **labels: str) -> list[float]:
        return [
            s.value
            for s in samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    web = {"namespace": "shop", "deployment": "web"}
    assert value("kube_deployment_spec_paused", **web) == [1]
    assert value("kube_deployment_status_replicas_updated", **web) == [1]
    assert value("kube_deployment_status_replicas", **web) == [4]
    assert value("kube_deployment_spec_strategy_rollingupdate_max_surge", **web) == [1]
    assert value("kube_deployment_spec_strategy_rollingupdate_max_unavailable", **web) == [0]
    assert value(
        "kube_deployment_status_condition",
        **web,
        condition="Progressing",
        reason="DeploymentPaused",
        status="unknown",
    ) == [1]
    new = next(rs for rs in apps.list_namespaced_replica_set("shop", label_selector="app=web").items
               if rs.metadata.annotations["deployment.kubernetes.io/revision"] == "2")  # fmt: skip
    pod_hash = new.metadata.labels["pod-template-hash"]
    [pod] = [
        s.labels["pod"]
        for s in samples
        if s.name == "kube_pod_labels" and s.labels.get("label_pod_template_hash") == pod_hash
    ]
    assert value("kube_pod_owner", pod=pod, owner_kind="ReplicaSet", owner_name=new.metadata.name) == [1]
    assert value(
        "kube_replicaset_owner", replicaset=new.metadata.name, owner_kind="Deployment", owner_name="web"
    ) == [1]
    assert value("kube_replicaset_spec_replicas", replicaset=new.metadata.name) == [1]


def test_undo_and_resume_in_one_patch_rolls_back_a_paused_rollout(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    """The rollout gate's undo: the previous template and ``paused: false`` in one JSON patch."""
    _ready(cluster, apps)
    with cluster.api_client() as api:
        old = next(iter(apps.list_namespaced_replica_set("shop", label_selector="app=web").items))
        template = api.sanitize_for_serialization(old.spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    apps.patch_namespaced_deployment("web", "shop", _image("2.1.0"))
    cluster.advance(STEP)
    apps.patch_namespaced_deployment("web", "shop", {"spec": {"paused": True}})
    cluster.advance(STEP)
    assert _sizes(apps) == {"1.0.0": 2, "2.1.0": 2}
    dep = apps.patch_namespaced_deployment(
        "web",
        "shop",
        [
            {"op": "replace", "path": "/spec/template", "value": template},
            {"op": "replace", "path": "/spec/paused", "value": False},
        ],
    )
    assert not dep.spec.paused
    assert _sizes(apps) == {"1.0.0": 3, "2.1.0": 1}
    cluster.advance(STEP)
    dep = apps.read_namespaced_deployment("web", "shop")
    assert _sizes(apps) == {"1.0.0": 3, "2.1.0": 0}
    assert _progressing(dep).reason == "NewReplicaSetAvailable"
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
