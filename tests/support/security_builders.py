"""Small builders of Kubernetes objects (API JSON dicts) for the security audit's unit tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

NOW = dt.datetime(2026, 11, 27, 0, 0, tzinfo=dt.UTC)


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def deployment(
    name: str,
    ns: str = "apps",
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    **pod_spec: Any,
) -> dict[str, Any]:
    labels = labels or {"app": name}
    spec = {"containers": [{"name": name, "image": "registry.example.com/app:1.0"}], **pod_spec}
    return {
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels}, "spec": spec}},
    }


def restricted_spec(**container: Any) -> dict[str, Any]:
    """A pod spec that meets the restricted level."""
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "app",
                "image": "registry.example.com/app:1.0",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                **container,
            }
        ],
    }


def cluster_role(name: str, rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "ClusterRole",
        "metadata": {"name": name, **extra.pop("meta", {})},
        "rules": rules,
        **extra,
    }


def role(name: str, ns: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules}


def rule(resources: list[str], verbs: list[str], groups: list[str] | None = None) -> dict[str, Any]:
    return {"apiGroups": groups if groups is not None else [""], "resources": resources, "verbs": verbs}


def binding(
    name: str, role_kind: str, role_name: str, subjects: list[dict[str, Any]], ns: str | None = None
) -> dict[str, Any]:
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    meta: dict[str, Any] = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": subjects,
    }


def sa(name: str, ns: str) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def group(name: str) -> dict[str, Any]:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def user(name: str) -> dict[str, Any]:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
