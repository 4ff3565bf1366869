"""RBAC: effective permissions through aggregation and groups, and the checks on roles and subjects."""

from __future__ import annotations

from tests.support.security_builders import (
    NOW,
    binding,
    cluster_role,
    group,
    role,
    rule,
    sa,
    user,
)
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit
from workers.workflows.security_audit.inventory import Inventory
from workers.workflows.security_audit.rbac import effective_permissions

AGGREGATE = {"rbac.example.com/aggregate-to-monitoring": "true"}


def perms(objects: list[dict]) -> dict[str, set[str]]:
    return {
        subject: set(map(str, found))
        for subject, found in effective_permissions(Inventory.of(objects)).items()
    }


def test_cluster_role_aggregation_feeds_the_subjects_bound_to_the_aggregate() -> None:
    objects = [
        cluster_role(
            "monitoring", [], aggregationRule={"clusterRoleSelectors": [{"matchLabels": AGGREGATE}]}
        ),
        cluster_role("monitoring-pods", [rule(["pods"], ["list"])], meta={"labels": AGGREGATE}),
        cluster_role("monitoring-secrets", [rule(["secrets"], ["get"])], meta={"labels": AGGREGATE}),
        cluster_role("unrelated", [rule(["nodes"], ["delete"])], meta={"labels": {"other": "true"}}),
        binding("mon", "ClusterRole", "monitoring", [user("carol")]),
    ]
    assert perms(objects)["User:carol"] == {"list pods @*", "get secrets @*"}
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    assert [(f.check, f.kind, f.name) for f in report.findings()] == [
        ("rbac.secrets_cluster_read", "User", "carol")
    ]


def test_role_bindings_to_groups_reach_their_members() -> None:
    objects = [
        {"kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "shop"}},
        {"kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "other"}},
        role("exec", "shop", [rule(["pods/exec"], ["create"])]),
        binding("all-sa", "Role", "exec", [group("system:serviceaccounts:shop")], ns="shop"),
        binding("devs", "ClusterRole", "view", [group("developers")], ns="shop"),
        cluster_role("view", [rule(["pods"], ["get"])]),
    ]
    found = perms(objects)
    assert found["ServiceAccount:shop/app"] == {"create pods/exec @shop"}
    assert "ServiceAccount:other/app" not in found
    assert found["Group:developers"] == {"get pods @shop"}
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    execs = {(f.kind, f.namespace, f.name) for f in report.findings() if f.check == "rbac.pod_exec"}
    assert execs == {("Group", None, "system:serviceaccounts:shop"), ("ServiceAccount", "shop", "app")}


def test_role_and_subject_checks_with_clean_counterparts() -> None:
    objects = [
        cluster_role("god", [rule(["*"], ["*"], ["*"])]),
        cluster_role("reader", [rule(["*"], ["get"])]),
        cluster_role("narrow", [rule(["configmaps"], ["get"])]),
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"])]),
        cluster_role("granter", [rule(["roles"], ["bind"], ["rbac.authorization.k8s.io"])]),
        cluster_role(
            "named-granter",
            [{**rule(["roles"], ["bind"], ["rbac.authorization.k8s.io"]), "resourceNames": ["viewer"]}],
        ),
        cluster_role("creator", [rule(["pods"], ["create"])]),
        binding("ops", "ClusterRole", "cluster-admin", [user("dave"), group("system:masters")]),
        binding("nodes", "ClusterRole", "cluster-admin", [user("system:kube-controller-manager")]),
        binding("g", "ClusterRole", "granter", [user("erin")]),
        binding("ng", "ClusterRole", "named-granter", [user("frank")]),
        binding("ks", "ClusterRole", "creator", [user("gina")], ns="kube-system"),
        binding("own", "ClusterRole", "creator", [user("hank")], ns="apps"),
        binding("d", "ClusterRole", "narrow", [sa("default", "apps")], ns="apps"),
        binding("g2", "ClusterRole", "god", [user("ivy")]),
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    found = {(f.check, f.kind, f.name) for f in report.findings()}
    assert found == {
        ("rbac.wildcard_all", "ClusterRole", "god"),
        ("rbac.wildcard", "ClusterRole", "reader"),
        ("rbac.cluster_admin", "ClusterRoleBinding", "ops"),
        ("rbac.escalation_verbs", "User", "erin"),
        ("rbac.kube_system_create", "User", "gina"),
        ("rbac.default_sa_bound", "RoleBinding", "d"),
    }
    (admin,) = [f for f in report.findings() if f.check == "rbac.cluster_admin"]
    assert admin.evidence["subjects"] == ["User:dave"]
    assert admin.severity.value == "critical"


def test_the_summary_says_who_can_read_secrets_and_exec() -> None:
    objects = [
        role("s", "shop", [rule(["secrets"], ["list"]), rule(["pods/exec"], ["create"])]),
        binding("s", "Role", "s", [user("jo")], ns="shop"),
    ]
    report = build_audit(objects, SecuritySettings(), [], None, now=NOW)
    (section,) = [s for s in report.sections if s.id == "rbac"]
    assert section.summary["who_can"]["read_secrets"] == ["User:jo @shop"]
    assert section.summary["who_can"]["exec_pods"] == ["User:jo @shop"]
    assert section.summary["permissions"] == {"User:jo": ["create pods/exec @shop", "list secrets @shop"]}
