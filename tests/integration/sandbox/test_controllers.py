"""Controllers: pod replacement, rollouts to new ReplicaSets, rollbacks, restart growth, cascades."""

from __future__ import annotations

from kubernetes import client

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, app_patch

REVISION = "deployment.kubernetes.io/revision"


def _checkout_pods(core: client.CoreV1Api) -> list[client.V1Pod]:
    return core.list_namespaced_pod("shop", label_selector="app=checkout").items


def _rollback_template(api: client.ApiClient, apps: client.AppsV1Api, rs_name: str) -> dict:
    """What ``kubectl rollout undo`` sends: the old ReplicaSet's template without the hash label."""
    template = api.sanitize_for_serialization(apps.read_namespaced_replica_set(rs_name, "shop").spec.template)
    del template["metadata"]["labels"]["pod-template-hash"]
    return template


def test_deleted_pod_is_replaced_with_the_outcome_state(
    cluster: SandboxCluster, core: client.CoreV1Api
) -> None:
    deleted = core.delete_namespaced_pod(CRASHING[0], "shop")
    assert deleted.metadata.deletion_timestamp is not None
    pods = _checkout_pods(core)
    names = {p.metadata.name for p in pods}
    assert CRASHING[0] not in names and CRASHING[1] in names and len(pods) == 2
    new = next(p for p in pods if p.metadata.name != CRASHING[1])
    assert new.metadata.name.startswith("checkout-7d9f8b6c5-")
    assert new.metadata.owner_references[0].name == "checkout-7d9f8b6c5"
    status = new.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.exit_code == 1 and status.last_state.terminated.reason == "Error"
    log = core.read_namespaced_pod_log(new.metadata.name, "shop", previous=True)
    assert "required environment variable DATABASE_URL is not set" in log


def test_restart_count_grows_with_the_clock(cluster: SandboxCluster, core: client.CoreV1Api) -> None:
    core.delete_namespaced_pod(CRASHING[0], "shop")
    new = next(p for p in _checkout_pods(core) if p.metadata.name != CRASHING[1]).metadata.name
    first = core.read_namespaced_pod(new, "shop").status.container_statuses[0].restart_count
    manifest_first = core.read_namespaced_pod(CRASHING[1], "shop").status.container_statuses[0].restart_count
    cluster.advance(30)
    assert core.read_namespaced_pod(new, "shop").status.container_statuses[0].restart_count == first + 3
    assert core.read_namespaced_pod(CRASHING[1], "shop").status.container_statuses[0].restart_count == (
        manifest_first + 3
    )
    backoff = core.list_namespaced_event(
        "shop", field_selector=f"involvedObject.name={new},reason=BackOff"
    ).items
    assert backoff[0].count == first + 3 and backoff[0].type == "Warning"
    assert backoff[0].message.startswith("Back-off restarting failed container app in pod")


def test_template_change_rolls_out_a_new_replicaset(
    cluster: SandboxCluster, core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    patch = app_patch(env=[{"name": "DATABASE_URL", "value": "postgres://db/checkout"}])
    dep = apps.patch_namespaced_deployment("checkout", "shop", patch)
    assert dep.metadata.annotations[REVISION] == "3"
    assert dep.metadata.generation == 3 and dep.status.observed_generation == 3
    assert (dep.status.replicas, dep.status.ready_replicas, dep.status.updated_replicas) == (2, 2, 2)
    assert {c.type: c.status for c in dep.status.conditions} == {"Available": "True", "Progressing": "True"}
    sets = {
        rs.metadata.name: rs
        for rs in apps.list_namespaced_replica_set("shop", label_selector="app=checkout").items
    }
    new = [rs for rs in sets.values() if rs.metadata.annotations[REVISION] == "3"]
    assert len(new) == 1 and new[0].spec.replicas == 2
    assert new[0].metadata.owner_references[0].name == "checkout"
    pod_hash = new[0].metadata.labels["pod-template-hash"]
    assert new[0].metadata.name == f"checkout-{pod_hash}"
    assert sets["checkout-7d9f8b6c5"].spec.replicas == 0
    pods = _checkout_pods(core)
    assert len(pods) == 2 and all(p.metadata.labels["pod-template-hash"] == pod_hash for p in pods)
    assert all(p.status.container_statuses[0].ready and p.status.phase == "Running" for p in pods)


def test_rollback_reuses_the_old_replicaset(
    cluster: SandboxCluster, api: client.ApiClient, core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    template = _rollback_template(api, apps, "checkout-6d4b9f7c58")
    dep = apps.patch_namespaced_deployment(
        "checkout", "shop", [{"op": "replace", "path": "/spec/template", "value": template}]
    )
    assert dep.metadata.annotations[REVISION] == "3"
    old = apps.read_namespaced_replica_set("checkout-6d4b9f7c58", "shop")
    assert old.metadata.annotations[REVISION] == "3" and old.spec.replicas == 2
    assert old.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert len(apps.list_namespaced_replica_set("shop", label_selector="app=checkout").items) == 2
    pods = _checkout_pods(core)
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {"6d4b9f7c58"}
    assert all(p.status.container_statuses[0].ready for p in pods)
    cluster.advance(60)
    assert all(p.status.container_statuses[0].restart_count == 0 for p in _checkout_pods(core))
    assert apps.read_namespaced_deployment("checkout", "shop").status.available_replicas == 2


def test_image_change_without_fix_still_crashloops(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    patch = app_patch(image="registry.example.com/shop/checkout:1.5.1")
    dep = apps.patch_namespaced_deployment("checkout", "shop", patch)
    assert dep.status.ready_replicas == 0 and dep.status.unavailable_replicas == 2
    assert {c.type: c.reason for c in dep.status.conditions}["Available"] == "MinimumReplicasUnavailable"
    reasons = {p.status.container_statuses[0].state.waiting.reason for p in _checkout_pods(core)}
    assert reasons == {"CrashLoopBackOff"}


def test_deployment_events_and_replicaset_events(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 2}})
    messages = [
        e.message
        for e in core.list_namespaced_event(
            "shop", field_selector="involvedObject.kind=Deployment,involvedObject.name=cart"
        ).items
    ]
    assert any(m.startswith("Scaled up replica set cart-") and m.endswith("from 1 to 2") for m in messages)


def test_deleting_a_deployment_collects_its_replicasets_and_pods(
    cluster: SandboxCluster, apps: client.AppsV1Api
) -> None:
    apps.delete_namespaced_deployment("checkout", "shop")
    assert [rs["metadata"]["name"] for rs in cluster.list("ReplicaSet", "shop")] == [
        rs["metadata"]["name"]
        for rs in cluster.list("ReplicaSet", "shop")
        if rs["metadata"]["name"].startswith("cart")
    ]
    assert all(p["metadata"]["labels"]["app"] == "cart" for p in cluster.list("Pod", "shop"))


def test_orphan_propagation_keeps_dependents(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    apps.delete_namespaced_deployment("checkout", "shop", propagation_policy="Orphan")
    assert cluster.get("ReplicaSet", "shop", "checkout-7d9f8b6c5") is not None
    assert cluster.get("Pod", "shop", CRASHING[0]) is not None
