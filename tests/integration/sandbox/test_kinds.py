"""Kinds the reports and scaling read: RBAC, NetworkPolicy, PDB, ServiceAccount, APIService, KEDA."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from kubernetes import client, dynamic

from sandbox.api import ADMIN_TOKEN
from sandbox.server import SandboxCluster

RBAC = "rbac.authorization.k8s.io"
AGGREGATE = "rbac.example.com/aggregate-to-support"
SERVED = [
    ("v1", "Namespace"), ("v1", "Node"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"),
    ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"), (f"{RBAC}/v1", "Role"), (f"{RBAC}/v1", "ClusterRole"),
    (f"{RBAC}/v1", "RoleBinding"), (f"{RBAC}/v1", "ClusterRoleBinding"),
    ("apiregistration.k8s.io/v1", "APIService"), ("keda.sh/v1alpha1", "ScaledObject"),
]  # fmt: skip


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


def _rule(resources: list[str], verbs: list[str]) -> dict[str, list[str]]:
    return {"apiGroups": [""], "resources": resources, "verbs": verbs}


@pytest.mark.parametrize(("api_version", "kind"), SERVED)
def test_kind_is_discoverable_and_listable(api: client.ApiClient, api_version: str, kind: str) -> None:
    resource = dynamic.DynamicClient(api).resources.get(api_version=api_version, kind=kind)
    assert resource.get().kind == f"{kind}List"


def test_rbac_crud_and_validation(cluster: SandboxCluster, api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    role = {"metadata": {"name": "pod-reader"}, "rules": [_rule(["pods", "pods/log"], ["get", "list"])]}
    rbac.create_namespaced_role("shop", role)
    binding = {
        "metadata": {"name": "pod-reader"},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "Group", "apiGroup": RBAC, "name": "developers"},
                     {"kind": "ServiceAccount", "name": "default", "namespace": "shop"}],
    }  # fmt: skip
    rbac.create_namespaced_role_binding("shop", binding)
    rbac.create_cluster_role({"metadata": {"name": "everything"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})  # fmt: skip
    rbac.create_cluster_role_binding({
        "metadata": {"name": "alice-everything"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "everything"},
        "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "alice@example.com"}],
    })  # fmt: skip
    assert rbac.read_namespaced_role("pod-reader", "shop").rules[0].resources == ["pods", "pods/log"]
    assert [s.kind for s in rbac.read_namespaced_role_binding("pod-reader", "shop").subjects] == [
        "Group", "ServiceAccount"]  # fmt: skip
    assert rbac.read_cluster_role_binding("alice-everything").subjects[0].name == "alice@example.com"
    assert "everything" in {r.metadata.name for r in rbac.list_cluster_role().items}
    assert [b.metadata.name for b in rbac.list_role_binding_for_all_namespaces().items] == ["pod-reader"]
    patched = rbac.patch_namespaced_role("pod-reader", "shop", {"rules": [_rule(["pods/exec"], ["create"])]})
    assert patched.rules[0].resources == ["pods/exec"]
    broken = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "broken"},
              "rules": [{"resources": ["pods"]}]}  # fmt: skip
    code, refused = _post(cluster, f"/apis/{RBAC}/v1/namespaces/shop/roles", broken)
    assert code == 422 and "rules[0].verbs: Required value" in refused["message"]
    rbac.delete_cluster_role_binding("alice-everything")
    rbac.delete_cluster_role("everything")
    rbac.delete_namespaced_role_binding("pod-reader", "shop")
    rbac.delete_namespaced_role("pod-reader", "shop")
    assert rbac.list_namespaced_role("shop").items == []


def test_cluster_role_aggregation_follows_labelled_roles(api: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    selector = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE: "true"}}]}
    created = rbac.create_cluster_role({"metadata": {"name": "support"}, "aggregationRule": selector})
    assert created.aggregation_rule.cluster_role_selectors[0].match_labels == {AGGREGATE: "true"}
    pods, secrets = _rule(["pods"], ["get", "list"]), _rule(["secrets"], ["get"])
    rbac.create_cluster_role(
        {"metadata": {"name": "support-b", "labels": {AGGREGATE: "true"}}, "rules": [secrets]}
    )
    rbac.create_cluster_role({"metadata": {"name": "support-a", "labels": {AGGREGATE: "true"}},
                              "rules": [pods, secrets]})  # fmt: skip
    rbac.create_cluster_role({"metadata": {"name": "unrelated"}, "rules": [_rule(["nodes"], ["get"])]})
    rules = api.sanitize_for_serialization(rbac.read_cluster_role("support").rules)
    assert rules == [pods, secrets]  # roles in name order, each rule once
    rbac.patch_cluster_role("support-a", {"metadata": {"labels": {AGGREGATE: None}}})
    assert api.sanitize_for_serialization(rbac.read_cluster_role("support").rules) == [secrets]
    rbac.delete_cluster_role("support-b")
    assert rbac.read_cluster_role("support").rules in (None, [])


def test_network_policy_crud(cluster: SandboxCluster, api: client.ApiClient) -> None:
    net = client.NetworkingV1Api(api)
    deny = {"metadata": {"name": "default-deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    net.create_namespaced_network_policy("shop", deny)
    spec = {"podSelector": {"matchLabels": {"app": "cart"}}, "ingress": [{}], "policyTypes": ["Ingress"]}
    allow = {"metadata": {"name": "allow-all"}, "spec": spec}
    net.create_namespaced_network_policy("shop", allow)
    names = [p.metadata.name for p in net.list_network_policy_for_all_namespaces().items]
    assert names == ["allow-all", "default-deny"]
    cidr = {"spec": {"ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}}
    assert net.patch_namespaced_network_policy("allow-all", "shop", cidr).spec.ingress[0]._from[
        0
    ].ip_block.cidr == ("0.0.0.0/0")
    typo = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"},
            "spec": {"podSelector": {}, "podSelectr": {}}}  # fmt: skip
    code, refused = _post(cluster, "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies", typo)
    assert code == 422 and 'unknown field "spec.podSelectr"' in refused["message"]
    net.delete_namespaced_network_policy("default-deny", "shop")
    assert [p.metadata.name for p in net.list_namespaced_network_policy("shop").items] == ["allow-all"]


def test_pdb_status_follows_the_pods(
    cluster: SandboxCluster, api: client.ApiClient, apps: client.AppsV1Api
) -> None:
    policy = client.PolicyV1Api(api)
    cart = {
        "metadata": {"name": "cart"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "cart"}}},
    }
    policy.create_namespaced_pod_disruption_budget("shop", cart)
    checkout = {"metadata": {"name": "checkout"},
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "checkout"}}}}  # fmt: skip
    policy.create_namespaced_pod_disruption_budget("shop", checkout)
    status = policy.read_namespaced_pod_disruption_budget("cart", "shop").status
    assert (status.expected_pods, status.current_healthy, status.desired_healthy) == (1, 1, 1)
    assert status.disruptions_allowed == 0 and status.conditions[0].reason == "InsufficientPods"
    blocked = policy.read_namespaced_pod_disruption_budget("checkout", "shop").status
    assert (blocked.expected_pods, blocked.current_healthy, blocked.desired_healthy) == (2, 0, 1)
    apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 3}})
    status = policy.read_namespaced_pod_disruption_budget("cart", "shop").status
    assert (status.expected_pods, status.current_healthy, status.disruptions_allowed) == (3, 3, 2)
    condition = status.conditions[0]
    assert (condition.type, condition.status, condition.reason) == (
        "DisruptionAllowed",
        "True",
        "SufficientPods",
    )
    status_only = policy.patch_namespaced_pod_disruption_budget_status(
        "cart", "shop", {"spec": {"minAvailable": 3}}
    )
    assert status_only.spec.min_available == 1
    policy.delete_namespaced_pod_disruption_budget("checkout", "shop")
    assert [p.metadata.name for p in policy.list_pod_disruption_budget_for_all_namespaces().items] == ["cart"]


def test_service_account_crud(core: client.CoreV1Api) -> None:
    body = {"metadata": {"name": "reporter"}, "automountServiceAccountToken": False}
    core.create_namespaced_service_account("shop", body)
    assert core.read_namespaced_service_account("reporter", "shop").automount_service_account_token is False
    names = {a.metadata.name for a in core.list_namespaced_service_account("shop").items}
    assert {"default", "checkout", "reporter"} <= names
    core.patch_namespaced_service_account("reporter", "shop", {"imagePullSecrets": [{"name": "registry"}]})
    core.delete_namespaced_service_account("reporter", "shop")
    assert "reporter" not in {a.metadata.name for a in core.list_namespaced_service_account("shop").items}


def test_apiservice_crud_and_status(api: client.ApiClient) -> None:
    registration = client.ApiregistrationV1Api(api)
    body = {
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                 "versionPriority": 100, "service": {"name": "metrics-server", "namespace": "kube-system"}},
    }  # fmt: skip
    registration.create_api_service(body)
    available = {"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed",
                 "lastTransitionTime": "2026-11-25T10:00:00Z"}  # fmt: skip
    registration.patch_api_service_status("v1beta1.metrics.k8s.io", {"status": {"conditions": [available]}})
    read = registration.read_api_service("v1beta1.metrics.k8s.io")
    assert read.spec.service.name == "metrics-server" and read.status.conditions[0].status == "True"
    assert [s.metadata.name for s in registration.list_api_service().items] == ["v1beta1.metrics.k8s.io"]
    registration.delete_api_service("v1beta1.metrics.k8s.io")
    with pytest.raises(client.ApiException) as err:
        registration.read_api_service("v1beta1.metrics.k8s.io")
    assert err.value.status == 404


def test_scaled_object_is_stored_as_plain_data(api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    where = ("keda.sh", "v1alpha1", "shop", "scaledobjects")
    body = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "cart"},
        "spec": {"scaleTargetRef": {"name": "cart"}, "minReplicaCount": 1, "maxReplicaCount": 8,
                 "triggers": [{"type": "prometheus", "metadata": {"threshold": "100", "query": "sum(up)"}}],
                 "advanced": {"anythingGoes": True}},
    }  # fmt: skip
    created = custom.create_namespaced_custom_object(*where, body)
    assert created["metadata"]["uid"] and created["metadata"]["generation"] == 1
    assert custom.get_namespaced_custom_object(*where, "cart")["spec"]["advanced"] == {"anythingGoes": True}
    patched = custom.patch_namespaced_custom_object(*where, "cart", {"spec": {"maxReplicaCount": 12}})
    assert patched["spec"]["maxReplicaCount"] == 12 and patched["metadata"]["generation"] == 2
    listed = custom.list_cluster_custom_object("keda.sh", "v1alpha1", "scaledobjects")
    assert [o["metadata"]["name"] for o in listed["items"]] == ["cart"]
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"keda.sh", "apiregistration.k8s.io", "policy", "networking.k8s.io", RBAC, "autoscaling"} <= groups
    custom.delete_namespaced_custom_object(*where, "cart")
    assert custom.list_namespaced_custom_object("keda.sh", "v1alpha1", "shop", "scaledobjects")["items"] == []
