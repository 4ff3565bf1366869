"""Helpers for tests of the security audit: the seeded scenario, what it must find, the SARIF schema."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "security-audit"


SCHEMA = json.loads((Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json").read_text())


NOW = dt.datetime(2026, 11, 27, 0, 0, tzinfo=dt.UTC)


EXPECTED = {
    ("rbac.wildcard_all", "ClusterRole", None, "ops-superuser"),
    ("rbac.wildcard", "ClusterRole", None, "apps-viewer"),
    ("rbac.cluster_admin", "ClusterRoleBinding", None, "bob-admin"),
    ("rbac.secrets_cluster_read", "Group", None, "ci-robots"),
    ("rbac.pod_exec", "Group", None, "oncall"),
    ("rbac.escalation_verbs", "ServiceAccount", "risky", "deployer"),
    ("rbac.kube_system_create", "ServiceAccount", "risky", "deployer"),
    ("rbac.default_sa_bound", "RoleBinding", "risky", "default-sa-reader"),
    ("netpol.namespace_unprotected", "Namespace", "open", "open"),
    ("netpol.no_default_deny", "Namespace", "risky", "risky"),
    ("netpol.pod_unselected", "Deployment", "risky", "batch"),
    ("netpol.allow_all_ingress", "NetworkPolicy", "risky", "api-allow-all"),
    ("netpol.allow_all_ingress", "NetworkPolicy", "risky", "api-from-internet"),
    ("secrets.env_var", "Deployment", "risky", "api"),
    ("secrets.literal_in_env", "Deployment", "risky", "api"),
    ("secrets.literal_in_configmap", "ConfigMap", "risky", "app-settings"),
    ("secrets.missing_reference", "Deployment", "risky", "api"),
    ("secrets.token_automount", "Deployment", "risky", "batch"),
    ("secrets.rotation", "Secret", "risky", "api-creds"),
    ("pss.privileged", "Deployment", "risky", "api"),
    ("pss.baseline", "Deployment", "risky", "batch"),
    ("pss.enforce_violation", "Deployment", "open", "legacy"),
    ("pss.namespace_unenforced", "Namespace", "risky", "risky"),
    ("images.latest_tag", "Deployment", "risky", "api"),
    ("images.no_digest", "Deployment", "risky", "api"),
    ("images.no_digest", "Deployment", "risky", "batch"),
    ("images.registry_not_allowed", "Deployment", "risky", "api"),
    ("images.stale_pull_policy", "Deployment", "risky", "api"),
}
