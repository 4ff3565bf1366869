"""Week over week: new, fixed and still-open findings, new criticals flagged, per-subject permission drift."""

from __future__ import annotations

import datetime as dt

from tests.support.security_builders import NOW, binding, cluster_role, deployment, rule, user
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit

WEEK = dt.timedelta(days=7)


def test_second_audit_reports_new_fixed_and_still_open_findings_and_permission_drift() -> None:
    last_week = [
        deployment("api", "shop", containers=[{"name": "c", "image": "nginx"}]),
        deployment("web", "shop", containers=[{"name": "c", "image": "nginx:latest"}]),
        cluster_role("reader", [rule(["pods"], ["get"])]),
        binding("r", "ClusterRole", "reader", [user("kim")]),
        binding("old", "ClusterRole", "reader", [user("lee")]),
    ]
    previous = build_audit(last_week, SecuritySettings(), [], None, now=NOW - WEEK)
    assert previous.changes["previous_id"] is None and "no earlier security audit" in previous.changes["note"]
    this_week = [
        deployment("api", "shop", containers=[{"name": "c", "image": "nginx"}]),
        deployment("web", "shop", containers=[{"name": "c", "image": "nginx:1.27"}]),
        cluster_role("reader", [rule(["pods"], ["get"]), rule(["secrets"], ["list"])]),
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"])]),
        binding("r", "ClusterRole", "reader", [user("kim")]),
        binding("mallory", "ClusterRole", "cluster-admin", [user("mallory")]),
    ]
    report = build_audit(this_week, SecuritySettings(), [], previous, now=NOW)
    changes = report.changes
    assert changes["previous_id"] == previous.id
    new = {item["key"] for item in changes["new_findings"]}
    assert "images.latest_tag:Deployment/shop/web" in {item["key"] for item in changes["resolved_findings"]}
    assert "images.latest_tag:Deployment/shop/api" not in new
    # api's latest_tag and no_digest, web's no_digest, and per workload or namespace: pss, netpol, token
    assert changes["still_open"] == 9
    assert new >= {
        "rbac.cluster_admin:ClusterRoleBinding//mallory",
        "rbac.secrets_cluster_read:User//kim",
    }
    (critical,) = changes["new_critical"]
    assert critical["check"] == "rbac.cluster_admin" and critical["name"] == "mallory"
    assert critical["escalation"].startswith("NEW CRITICAL security finding rbac.cluster_admin")
    assert changes["permissions"]["gained"]["User:kim"] == ["list secrets @*"]
    assert changes["permissions"]["gained"]["User:mallory"] == ["* */* @*"]
    assert changes["permissions"]["lost"] == {"User:lee": ["get pods @*"]}


def test_a_critical_finding_still_open_is_not_escalated_again() -> None:
    objects = [
        cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"])]),
        binding("b", "ClusterRole", "cluster-admin", [user("bob")]),
    ]
    first = build_audit(objects, SecuritySettings(), [], None, now=NOW - WEEK)
    assert [c["name"] for c in first.changes["new_critical"]] == ["b"]
    second = build_audit(objects, SecuritySettings(), [], first, now=NOW)
    assert second.changes["new_critical"] == []
    assert second.changes["still_open"] == 1 and second.changes["new_findings"] == []
    assert second.changes["score"] == {"before": first.score, "after": second.score, "delta": 0.0}
