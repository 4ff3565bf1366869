"""Least privilege: RBAC verb by verb (writes only where remediation may act, never in the denied
namespaces, cluster-wide only on request), one ServiceAccount per component, the admission policy that
makes the API server refuse writes in the denied namespaces, and the pod security settings."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.helm.conftest import NAMESPACE, RELEASE, Rendered, render

READ_VERBS = {"get", "list", "watch"}
# (apiGroup, resource) -> the write verbs the US1 actions (workflows/pod_failure/actions.py) need, no more:
# restart-pod deletes a pod; rollback-deployment, raise-memory-limit and adjust-probe patch a Deployment.
WRITES = {
    ("", "pods"): {"delete"},
    ("apps", "deployments"): {"patch"},
}
SCALING_WRITES = {("autoscaling", "horizontalpodautoscalers"): {"create", "patch"}}
CLUSTER_SCOPED = {"nodes", "namespaces", "clusterroles", "clusterrolebindings"}
WORKER_ACCOUNT = f"{RELEASE}-aiops-responder"


def _grants(
    rendered: Rendered, kinds: tuple[str, ...] = ("Role", "ClusterRole")
) -> dict[tuple[str, str], set[str]]:
    grants: dict[tuple[str, str], set[str]] = {}
    for obj in rendered.objects:
        if obj["kind"] not in kinds:
            continue
        for rule in obj["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    grants.setdefault((group, resource), set()).update(rule["verbs"])
    return grants


def test_no_wildcards_anywhere(rendered: Rendered) -> None:
    for where, rule in rendered.role_rules():
        for key in ("verbs", "resources", "apiGroups"):
            assert "*" not in rule.get(key, []), f"{where}: {key} {rule.get(key)}"
        assert "nonResourceURLs" not in rule and "resourceNames" not in rule, where
        assert not any("*" in resource for resource in rule["resources"]), where


def test_no_escalation_verbs(rendered: Rendered) -> None:
    for where, rule in rendered.role_rules():
        assert not {"escalate", "bind", "impersonate", "deletecollection", "update"} & set(rule["verbs"]), (
            where
        )


def _writes(rules: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        if set(rule["verbs"]) - READ_VERBS:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    found.setdefault((group, resource), set()).update(set(rule["verbs"]) - READ_VERBS)
    return found


def _denied(rendered: Rendered) -> list[str]:
    settings = yaml.safe_load(rendered.one("ConfigMap", "settings")["data"]["settings.yaml"])
    return list(settings["namespaces"]["deny"])


def test_default_reads_the_cluster_but_writes_nowhere(render_set: Any) -> None:
    """Cluster-wide reads, and no write verb at all until namespaces are named (or rbac.clusterWide)."""
    rendered = render_set("default")
    grants = _grants(rendered)
    assert {key: verbs - READ_VERBS for key, verbs in grants.items() if verbs - READ_VERBS} == {}
    assert rendered.of_kind("Role") == []
    assert "no namespace is writable yet" in rendered.notes
    assert grants[("", "pods")] == {"get", "list", "watch"}
    assert grants[("", "pods/log")] == {"get"}
    for resource in ("events", "configmaps", "services", "nodes", "namespaces"):
        assert grants[("", resource)] == {"get", "list"}, resource
    for resource in ("replicasets", "statefulsets", "daemonsets"):
        assert grants[("apps", resource)] == {"get", "list"}, resource
    assert grants[("networking.k8s.io", "networkpolicies")] == {"get", "list"}
    for resource in ("roles", "rolebindings", "clusterroles", "clusterrolebindings"):
        assert grants[("rbac.authorization.k8s.io", resource)] == {"get", "list"}, resource


def test_namespaced_mode_grants_exactly_what_the_actions_need(render_set: Any) -> None:
    rendered = render_set("namespaced")
    for namespace in ("shop", "payments"):
        (role,) = [
            r
            for r in rendered.of_kind("Role")
            if r["metadata"]["namespace"] == namespace and r["metadata"]["name"].endswith("-remediate")
        ]
        assert _writes(role["rules"]) == WRITES, namespace
    # Every other role only reads.
    for where, rule in rendered.role_rules():
        if not where.endswith("-remediate"):
            assert set(rule["verbs"]) <= READ_VERBS, where
    assert "may write in shop, payments only" in rendered.notes


def test_no_cluster_wide_write_unless_asked(rendered: Rendered) -> None:
    for binding in rendered.of_kind("ClusterRoleBinding"):
        role = rendered.one("ClusterRole", binding["roleRef"]["name"])
        if rendered.name == "cluster-wide" and role["metadata"]["name"].endswith("-remediate"):
            continue
        assert _writes(role["rules"]) == {}, f"{rendered.name}: {role['metadata']['name']}"


def test_cluster_wide_only_by_the_explicit_value(render_set: Any) -> None:
    rendered = render_set("cluster-wide")
    (remediate,) = [
        r for r in rendered.of_kind("ClusterRole") if r["metadata"]["name"].endswith("-remediate")
    ]
    assert _writes(remediate["rules"]) == WRITES
    (binding,) = [
        b
        for b in rendered.of_kind("ClusterRoleBinding")
        if b["roleRef"]["name"] == remediate["metadata"]["name"]
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": WORKER_ACCOUNT, "namespace": NAMESPACE}]
    assert rendered.of_kind("Role") == []
    # Cluster-wide writes leave the denied namespaces to the admission policy, which is on.
    assert rendered.of_kind("ValidatingAdmissionPolicy")


def test_no_write_role_in_a_denied_namespace(rendered: Rendered) -> None:
    denied = _denied(rendered)
    assert NAMESPACE in denied and "kube-system" in denied
    for role in rendered.of_kind("Role"):
        if _writes(role["rules"]):
            assert role["metadata"]["namespace"] not in denied, role["metadata"]


def test_hpa_verbs_only_with_the_scaling_gate(chart: Any, rendered: Rendered) -> None:
    assert not any(
        resource == "horizontalpodautoscalers" for resource in _writes([r for _, r in rendered.role_rules()])
    )
    gated = render(
        chart, "scaling", {"watchNamespaces": ["shop"], "remediation": {"scaling": {"enabled": True}}}
    )
    (role,) = [r for r in gated.of_kind("Role") if r["metadata"]["name"].endswith("-remediate")]
    assert _writes(role["rules"]) == {**WRITES, **SCALING_WRITES}


def test_remediation_namespaces_narrow_the_writes(chart: Any) -> None:
    rendered = render(chart, "narrow", {"remediation": {"namespaces": ["shop"]}})
    writers = [r for r in rendered.of_kind("Role") if _writes(r["rules"])]
    assert [(r["metadata"]["namespace"], _writes(r["rules"])) for r in writers] == [("shop", WRITES)]
    # Reads stay cluster-wide.
    assert any(r["metadata"]["name"].endswith("-read") for r in rendered.of_kind("ClusterRole"))


def test_read_only_mode_has_no_write_verbs(render_set: Any) -> None:
    rendered = render_set("read-only")
    for where, rule in rendered.role_rules():
        assert set(rule["verbs"]) <= READ_VERBS, f"{where}: {rule}"
    assert not any(obj["metadata"]["name"].endswith("-remediate") for obj in rendered.objects)
    assert "read-only" in rendered.notes


def test_secrets_are_read_only_when_opted_in(render_set: Any) -> None:
    for name in ("default", "read-only", "namespaced", "prometheus-operator"):
        assert not any(resource == "secrets" for (_, resource) in _grants(render_set(name))), name
    grants = _grants(render_set("custom"))
    assert grants[("", "secrets")] == {"list"}


def test_namespaced_mode_uses_roles_in_each_watched_namespace(render_set: Any) -> None:
    rendered = render_set("namespaced")
    roles = rendered.of_kind("Role")
    assert {role["metadata"]["namespace"] for role in roles} == {"shop", "payments"}
    for namespace in ("shop", "payments"):
        names = {
            r["metadata"]["name"].rsplit("-", 1)[1] for r in roles if r["metadata"]["namespace"] == namespace
        }
        assert names == {"read", "audit", "remediate"}, namespace
    bindings = rendered.of_kind("RoleBinding")
    assert len(bindings) == len(roles)
    for binding in bindings:
        role = next(
            r
            for r in roles
            if r["metadata"]["name"] == binding["roleRef"]["name"]
            and r["metadata"]["namespace"] == binding["metadata"]["namespace"]
        )
        assert binding["roleRef"]["kind"] == "Role" and role
    # The only cluster-wide grant left: reading Nodes.
    (cluster_role,) = rendered.of_kind("ClusterRole")
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]
    for _, resource in _grants(rendered, ("Role",)):
        assert resource not in CLUSTER_SCOPED


def test_bindings_name_the_workers_or_the_watchers_account(rendered: Rendered) -> None:
    accounts = {sa["metadata"]["name"]: sa for sa in rendered.of_kind("ServiceAccount")}
    for binding in rendered.of_kind("RoleBinding") + rendered.of_kind("ClusterRoleBinding"):
        (subject,) = binding["subjects"]
        assert subject["name"] in accounts and subject["namespace"] == NAMESPACE
        kind = "Role" if binding["kind"] == "RoleBinding" else "ClusterRole"
        assert binding["roleRef"]["kind"] == kind
        assert any(role["metadata"]["name"] == binding["roleRef"]["name"] for role in rendered.of_kind(kind))
        if binding["roleRef"]["name"].endswith("-watch"):
            assert subject["name"] == f"{WORKER_ACCOUNT}-watcher"
        else:
            assert subject["name"] == WORKER_ACCOUNT
        assert not subject["name"].endswith(("-receiver", "-cron"))


def test_each_component_has_its_own_account(rendered: Rendered) -> None:
    """Workers: the write-capable account, with a token. Receiver and cron: no role bound, no token. Watcher:
    its own read-only account."""
    expected = {
        "worker": (WORKER_ACCOUNT, True),
        "receiver": (f"{WORKER_ACCOUNT}-receiver", False),
        "cron": (f"{WORKER_ACCOUNT}-cron", False),
        "watcher": (f"{WORKER_ACCOUNT}-watcher", True),
    }
    bound = {
        b["subjects"][0]["name"]
        for b in rendered.of_kind("RoleBinding") + rendered.of_kind("ClusterRoleBinding")
    }
    accounts = {sa["metadata"]["name"]: sa for sa in rendered.of_kind("ServiceAccount")}
    for component, (account, token) in expected.items():
        if component == "watcher" and not rendered.values.get("watcher", {}).get("enabled"):
            assert account not in accounts
            continue
        spec = rendered.one("Deployment", component)["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == account, component
        assert spec["automountServiceAccountToken"] is token, component
        assert accounts[account]["automountServiceAccountToken"] is False, component
        if not token:
            assert account not in bound, component


def test_the_watcher_only_reads_pods(chart: Any, render_set: Any) -> None:
    namespaced = render(
        chart, "watch-namespaced", {"watcher": {"enabled": True}, "watchNamespaces": ["shop"]}
    )
    for rendered in (render_set("custom"), render_set("cluster-wide"), namespaced):
        watch_roles = [
            obj
            for obj in rendered.of_kind("Role") + rendered.of_kind("ClusterRole")
            if obj["metadata"]["name"].endswith("-watch")
        ]
        assert len(watch_roles) == 1, rendered.name
        (role,) = watch_roles
        assert role["rules"] == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list"]},
        ]
        assert role["kind"] == ("Role" if rendered is namespaced else "ClusterRole")


def _cel_lists(expression: str) -> list[list[str]]:
    return [json.loads(found) for found in re.findall(r"\[[^\[\]]*\]", expression)]


def test_admission_policy_refuses_writes_in_the_denied_namespaces(rendered: Rendered) -> None:
    (policy,) = rendered.of_kind("ValidatingAdmissionPolicy")
    (binding,) = rendered.of_kind("ValidatingAdmissionPolicyBinding")
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    (rule,) = spec["matchConstraints"]["resourceRules"]
    assert rule["operations"] == ["CREATE", "UPDATE", "DELETE"] and rule["resources"] == ["*", "*/*"]
    assert rule["apiGroups"] == ["*"] and rule["apiVersions"] == ["*"]
    # Applies to the responder's accounts, the workers' first.
    (condition,) = spec["matchConditions"]
    (users,) = _cel_lists(condition["expression"])
    assert condition["expression"].startswith("request.userInfo.username in ")
    assert users[0] == f"system:serviceaccount:{NAMESPACE}:{WORKER_ACCOUNT}"
    assert {sa["metadata"]["name"] for sa in rendered.of_kind("ServiceAccount")} == {
        user.rsplit(":", 1)[1] for user in users
    }
    # Refuses the request when it is in a denied namespace, or is about a denied Namespace object.
    (validation,) = spec["validations"]
    expression = validation["expression"]
    assert expression.startswith("!(request.namespace in ")
    assert 'request.resource.resource == "namespaces" && request.name in ' in expression
    assert _cel_lists(expression) == [_denied(rendered), _denied(rendered)]
    assert validation["reason"] == "Forbidden" and "messageExpression" in validation


def test_admission_policy_can_be_turned_off(chart: Any) -> None:
    rendered = render(chart, "no-policy", {"admissionPolicy": {"enabled": False}})
    assert rendered.of_kind("ValidatingAdmissionPolicy") == []
    assert rendered.of_kind("ValidatingAdmissionPolicyBinding") == []


def test_receiver_has_no_kubernetes_api_credentials(rendered: Rendered) -> None:
    receiver = rendered.one("Deployment", "receiver")["spec"]["template"]["spec"]
    assert receiver["automountServiceAccountToken"] is False
    assert receiver["serviceAccountName"].endswith("-receiver")


def test_pod_security_on_every_container(rendered: Rendered) -> None:
    for where, spec in rendered.pod_specs():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), where
    containers = rendered.containers()
    assert containers
    for where, container in containers:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"] == {"drop": ["ALL"]}, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert context.get("privileged") is not True, where
        assert context.get("runAsUser", 1) != 0, where


def test_init_containers_are_covered(render_set: Any) -> None:
    rendered = render_set("custom")
    if not rendered.values["rules"]["files"]:
        return  # no rule library to mount yet: no init containers to check
    inits = [c for _, spec in rendered.pod_specs() for c in spec.get("initContainers", [])]
    assert inits and all(c["args"] == ["rules", "lint", "/etc/aiops/rules"] for c in inits)


def test_only_the_receiver_mounts_the_tokens(rendered: Rendered) -> None:
    for where, spec in rendered.pod_specs():
        secret_volumes = [v for v in spec.get("volumes", []) if "secret" in v]
        if where.endswith("-receiver"):
            (volume,) = secret_volumes
            assert volume["secret"]["items"] == [{"key": "tokens.yaml", "path": "tokens.yaml"}]
        elif where.startswith("StatefulSet/") and secret_volumes:
            # The bundled Redis mounts its ACL file (password hashes only), and nothing else.
            (volume,) = secret_volumes
            assert volume["secret"]["items"] == [{"key": "users.acl", "path": "users.acl"}]
        else:
            assert secret_volumes == [], where


def test_writable_paths_are_empty_dirs(rendered: Rendered) -> None:
    for where, spec in rendered.pod_specs():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                if mount.get("readOnly"):
                    continue
                volume = volumes.get(mount["name"])
                if volume is None:  # the Redis data volume, from the volumeClaimTemplate
                    assert where.startswith("StatefulSet/") and mount["name"] == "data", (where, mount)
                else:
                    assert "emptyDir" in volume, (where, mount)
