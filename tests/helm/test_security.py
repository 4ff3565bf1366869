"""Least privilege: RBAC verb by verb, read-only and namespaced modes, and the pod security settings."""

from __future__ import annotations

from typing import Any

from tests.helm.conftest import RELEASE, Rendered

READ_VERBS = {"get", "list", "watch"}
# (apiGroup, resource) -> the write verbs remediation needs, and nothing else.
WRITES = {
    ("", "pods"): {"delete"},
    ("apps", "deployments"): {"patch"},
    ("autoscaling", "horizontalpodautoscalers"): {"create", "patch"},
}
CLUSTER_SCOPED = {"nodes", "namespaces", "clusterroles", "clusterrolebindings"}


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


def test_default_grants_exactly_what_remediation_needs(render_set: Any) -> None:
    grants = _grants(render_set("default"))
    writes = {key: verbs - READ_VERBS for key, verbs in grants.items() if verbs - READ_VERBS}
    assert writes == WRITES
    assert grants[("", "pods")] == {"get", "list", "watch", "delete"}
    assert grants[("", "pods/log")] == {"get"}
    for resource in ("events", "configmaps", "services", "nodes", "namespaces"):
        assert grants[("", resource)] == {"get", "list"}, resource
    for resource in ("replicasets", "statefulsets", "daemonsets"):
        assert grants[("apps", resource)] == {"get", "list"}, resource
    assert grants[("networking.k8s.io", "networkpolicies")] == {"get", "list"}
    for resource in ("roles", "rolebindings", "clusterroles", "clusterrolebindings"):
        assert grants[("rbac.authorization.k8s.io", resource)] == {"get", "list"}, resource


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
        assert names == {"read", "audit", "remediate"}
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


def test_bindings_name_the_worker_service_account(rendered: Rendered) -> None:
    accounts = {sa["metadata"]["name"]: sa for sa in rendered.of_kind("ServiceAccount")}
    for binding in rendered.of_kind("RoleBinding") + rendered.of_kind("ClusterRoleBinding"):
        (subject,) = binding["subjects"]
        assert subject["name"] == f"{RELEASE}-aiops-responder" and subject["name"] in accounts
        assert not subject["name"].endswith("-receiver")
        kind = "Role" if binding["kind"] == "RoleBinding" else "ClusterRole"
        assert binding["roleRef"]["kind"] == kind
        assert any(role["metadata"]["name"] == binding["roleRef"]["name"] for role in rendered.of_kind(kind))


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
