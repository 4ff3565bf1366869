"""Reads through the official client: discovery, get, list, selectors, pagination and pod logs."""

from __future__ import annotations

import pytest
from kubernetes import client, dynamic

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import CRASHING, status_of


def test_version_and_discovery(api: client.ApiClient) -> None:
    assert client.VersionApi(api).get_code().git_version == "v1.30.0"
    groups = {
        g.name: g.preferred_version.group_version for g in client.ApisApi(api).get_api_versions().groups
    }
    assert groups["apps"] == "apps/v1"
    assert groups["autoscaling"] == "autoscaling/v2"
    resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert resources["pods"].namespaced and resources["pods"].kind == "Pod"
    assert "pods/log" in resources
    assert not resources["nodes"].namespaced


def test_dynamic_client_reads_through_discovery(api: client.ApiClient) -> None:
    dyn = dynamic.DynamicClient(api)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    found = deployments.get(namespace="shop", name="checkout")
    assert found.metadata.annotations["deployment.kubernetes.io/revision"] == "2"


def test_get_pod_has_the_manifest_status(core: client.CoreV1Api) -> None:
    pod = core.read_namespaced_pod(CRASHING[1], "shop")
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.exit_code == 1
    assert status.restart_count == 7
    assert pod.metadata.resource_version and pod.metadata.uid


def test_list_has_list_kind_and_resource_version(api: client.ApiClient, core: client.CoreV1Api) -> None:
    response = core.list_namespaced_pod("shop", _preload_content=False)
    body = response.json()
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) > 0
    assert len(body["items"]) == 3


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=checkout", 2),
        ("app==cart", 1),
        ("app!=checkout", 1),
        ("app in (cart, checkout)", 3),
        ("app notin (cart)", 2),
        ("pod-template-hash", 3),
        ("!pod-template-hash", 0),
        ("app=checkout,pod-template-hash=7d9f8b6c5", 2),
    ],
)
def test_label_selectors(core: client.CoreV1Api, selector: str, expected: int) -> None:
    assert len(core.list_namespaced_pod("shop", label_selector=selector).items) == expected


def test_field_selectors(core: client.CoreV1Api) -> None:
    on_node = core.list_pod_for_all_namespaces(field_selector="spec.nodeName=node-1").items
    assert CRASHING[1] in {p.metadata.name for p in on_node}
    assert len(core.list_pod_for_all_namespaces(field_selector=f"metadata.name={CRASHING[0]}").items) == 1
    running = core.list_namespaced_pod("shop", field_selector="status.phase=Running").items
    assert len(running) == 3
    events = core.list_namespaced_event(
        "shop", field_selector=f"involvedObject.kind=Pod,involvedObject.name={CRASHING[1]}"
    ).items
    assert {e.reason for e in events} >= {"BackOff", "Scheduled"}
    assert all(e.involved_object.name == CRASHING[1] for e in events)


def test_unsupported_field_selector_is_a_bad_request(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_pod("shop", field_selector="spec.image=x")
    assert err.value.status == 400
    assert status_of(err.value)["message"] == "field label not supported: spec.image"


def test_all_namespaces_and_cluster_scoped(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    names = {(d.metadata.namespace, d.metadata.name) for d in apps.list_deployment_for_all_namespaces().items}
    assert names == {("shop", "cart"), ("shop", "checkout")}
    nodes = core.list_node().items
    assert [n.metadata.name for n in nodes] == ["node-1", "node-2"]
    assert {ns.metadata.name for ns in core.list_namespace().items} >= {"shop", "default", "kube-system"}


def test_pagination_with_limit_and_continue(core: client.CoreV1Api) -> None:
    first = core.list_namespaced_event("shop", limit=5)
    assert len(first.items) == 5 and first.metadata._continue
    second = core.list_namespaced_event("shop", limit=5, _continue=first.metadata._continue)
    assert {e.metadata.name for e in first.items}.isdisjoint({e.metadata.name for e in second.items})


def test_previous_log_and_tail(core: client.CoreV1Api) -> None:
    log = core.read_namespaced_pod_log(CRASHING[1], "shop", container="app", previous=True)
    assert "Error: required environment variable DATABASE_URL is not set" in log
    tail = core.read_namespaced_pod_log(CRASHING[1], "shop", previous=True, tail_lines=2)
    assert tail.splitlines() == log.splitlines()[-2:]
    limited = core.read_namespaced_pod_log(CRASHING[1], "shop", limit_bytes=10)
    assert limited == log[:10]


def test_missing_previous_log_is_a_bad_request(core: client.CoreV1Api) -> None:
    cart = core.list_namespaced_pod("shop", label_selector="app=cart").items[0].metadata.name
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log(cart, "shop", previous=True)
    assert err.value.status == 400
    assert status_of(err.value)["message"] == f'previous terminated container "app" in pod "{cart}" not found'
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_pod_log(cart, "shop", container="sidecar")
    assert status_of(err.value)["message"] == f"container sidecar is not valid for pod {cart}"


def test_direct_store_access(cluster: SandboxCluster) -> None:
    assert cluster.get("Deployment", "shop", "checkout")["spec"]["replicas"] == 2
    assert cluster.get("pods", "shop", "nope") is None
    assert len(cluster.list("po", "shop")) == 3
    assert cluster.scenario["expect"]["action"] == "rollback-deployment"
