"""Writes through the official client: create, replace, the three patch types, dryRun, delete, errors."""

from __future__ import annotations

import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import DynamicApiError

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, app_patch, status_of


def _pod(name: str, **container: object) -> client.V1Pod:
    spec = {"name": "app", "image": "busybox:1.36", **container}
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(containers=[spec]))


def test_create_sets_server_fields_and_bumps_resource_version(core: client.CoreV1Api) -> None:
    before = int(core.list_namespaced_pod("shop").metadata.resource_version)
    created = core.create_namespaced_pod("shop", _pod("debug"))
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    assert int(created.metadata.resource_version) > before
    assert created.spec.node_name in ("node-1", "node-2")
    assert created.status.phase == "Running"
    assert created.status.container_statuses[0].ready is True


def test_create_existing_is_already_exists(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_pod("shop", _pod(CRASHING[0]))
    status = status_of(err.value)
    assert err.value.status == 409
    assert status["kind"] == "Status" and status["reason"] == "AlreadyExists"
    assert status["message"] == f'pods "{CRASHING[0]}" already exists'


def test_missing_object_is_not_found(apps: client.AppsV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        apps.read_namespaced_deployment("nope", "shop")
    status = status_of(err.value)
    assert err.value.status == 404
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "NotFound", 404)
    assert status["message"] == 'deployments.apps "nope" not found'
    assert status["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


def test_create_in_missing_namespace_is_not_found(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "x"}, "data": {"a": "b"}})
    assert err.value.status == 404
    assert status_of(err.value)["message"] == 'namespaces "nowhere" not found'


def _raw_pods(api: client.ApiClient) -> dynamic.Resource:
    """The dynamic client sends bodies as given (the typed client validates them before sending)."""
    return dynamic.DynamicClient(api).resources.get(api_version="v1", kind="Pod")


def test_schema_violation_is_invalid_naming_the_field(api: client.ApiClient) -> None:
    body = {
        "metadata": {"name": "bad"},
        "spec": {"containers": [{"name": "app", "image": "x", "imagePullPolicy": 3}]},
    }
    with pytest.raises(DynamicApiError) as err:
        _raw_pods(api).create(body=body, namespace="shop")
    status = status_of(err.value)
    assert err.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.containers[0].imagePullPolicy"
    assert status["message"].startswith('Pod "bad" is invalid: spec.containers[0].imagePullPolicy')


def test_unknown_field_and_semantic_errors_are_invalid(api: client.ApiClient, apps: client.AppsV1Api) -> None:
    body = {
        "metadata": {"name": "bad"},
        "spec": {"containers": [{"name": "app", "image": "x", "resource": {}}]},
    }
    with pytest.raises(DynamicApiError) as err:
        _raw_pods(api).create(body=body, namespace="shop")
    assert status_of(err.value)["details"]["causes"][0]["field"] == "spec.containers[0].resource"
    patch = app_patch(resources={"requests": {"memory": "1Gi"}})
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment("checkout", "shop", patch)
    cause = status_of(err.value)["details"]["causes"][0]
    assert cause["field"] == "spec.template.spec.containers[0].resources.requests[memory]"
    assert "must be less than or equal to memory limit" in cause["message"]


def test_replace_with_stale_resource_version_is_a_conflict(core: client.CoreV1Api) -> None:
    cm = core.read_namespaced_config_map("checkout-config", "shop")
    cm.data["feature"] = "on"
    updated = core.replace_namespaced_config_map("checkout-config", "shop", cm)
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data["feature"] = "off"
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("checkout-config", "shop", cm)
    status = status_of(err.value)
    assert err.value.status == 409 and status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


def test_strategic_merge_patch_merges_containers_and_env_by_name(apps: client.AppsV1Api) -> None:
    patch = app_patch(env=[{"name": "DATABASE_URL", "value": "postgres://db/checkout"}])
    dep = apps.patch_namespaced_deployment("checkout", "shop", patch)
    container = dep.spec.template.spec.containers[0]
    assert [e.name for e in container.env] == ["LOG_LEVEL", "DB_URL", "DATABASE_URL"]
    assert container.image.endswith(":1.5.0") and container.resources.limits == {"memory": "512Mi"}
    assert dep.metadata.generation == 3


def test_strategic_merge_patch_directives(apps: client.AppsV1Api) -> None:
    delete_env = app_patch(env=[{"name": "LOG_LEVEL", "$patch": "delete"}])
    dep = apps.patch_namespaced_deployment("checkout", "shop", delete_env)
    assert [e.name for e in dep.spec.template.spec.containers[0].env] == ["DB_URL"]
    replace_env = app_patch(env=[{"name": "ONLY", "value": "1"}, {"$patch": "replace"}])
    dep = apps.patch_namespaced_deployment("checkout", "shop", replace_env)
    assert [e.name for e in dep.spec.template.spec.containers[0].env] == ["ONLY"]


def test_merge_patch_replaces_lists(apps: client.AppsV1Api) -> None:
    patch = {"metadata": {"labels": {"tier": "web", "app": None}}}
    dep = apps.patch_namespaced_deployment(
        "cart", "shop", patch, _content_type="application/merge-patch+json"
    )
    assert dep.metadata.labels == {"tier": "web"}


def test_json_patch(apps: client.AppsV1Api) -> None:
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/memory", "value": "1Gi"},
        {"op": "add", "path": "/metadata/annotations/team~1owner", "value": "payments"},
    ]
    dep = apps.patch_namespaced_deployment("checkout", "shop", ops)
    assert dep.spec.template.spec.containers[0].resources.limits["memory"] == "1Gi"
    assert dep.metadata.annotations["team/owner"] == "payments"
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment(
            "checkout", "shop", [{"op": "test", "path": "/spec/replicas", "value": 9}]
        )
    assert err.value.status == 422


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        ("application/strategic-merge-patch+json", {"spec": {"replicas": 5}}),
        ("application/merge-patch+json", {"spec": {"replicas": 5}}),
        ("application/json-patch+json", [{"op": "replace", "path": "/spec/replicas", "value": 5}]),
    ],
)
def test_dry_run_patch_changes_nothing(
    cluster: SandboxCluster, apps: client.AppsV1Api, content_type: str, patch: object
) -> None:
    before = cluster.get("Deployment", "shop", "checkout")
    pods_before = len(cluster.list("Pod", "shop"))
    would_be = apps.patch_namespaced_deployment(
        "checkout", "shop", patch, dry_run="All", _content_type=content_type
    )
    assert would_be.spec.replicas == 5
    assert cluster.get("Deployment", "shop", "checkout") == before
    assert len(cluster.list("Pod", "shop")) == pods_before


def test_dry_run_create_and_delete_change_nothing(cluster: SandboxCluster, core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("shop", _pod("ghost"), dry_run="All")
    assert cluster.get("Pod", "shop", "ghost") is None
    core.delete_namespaced_pod(CRASHING[0], "shop", dry_run="All")
    assert cluster.get("Pod", "shop", CRASHING[0]) is not None


def test_unsupported_patch_type_is_415(api: client.ApiClient, apps: client.AppsV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment("cart", "shop", {"spec": {}}, _content_type="application/json")
    assert err.value.status == 415 and status_of(err.value)["reason"] == "UnsupportedMediaType"


def test_delete_returns_status_and_removes(cluster: SandboxCluster, core: client.CoreV1Api) -> None:
    status = core.delete_namespaced_config_map("checkout-config", "shop")  # the client returns a plain dict
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "checkout-config"
    assert cluster.get("ConfigMap", "shop", "checkout-config") is None


def test_scale_subresource(cluster: SandboxCluster, apps: client.AppsV1Api) -> None:
    scale = apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3 and scale.status.selector == "app=cart"
    assert len([p for p in cluster.list("Pod", "shop") if p["metadata"]["labels"]["app"] == "cart"]) == 3
    assert apps.read_namespaced_deployment("cart", "shop").status.ready_replicas == 3
