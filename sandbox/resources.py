"""The resource types the sandbox serves, and the discovery documents that describe them.

One table (``RESOURCES``) drives routing, storage keys, validation and ``/api``, ``/apis``
discovery, so adding a kind is one row here (its JSON schema comes from kubernetes-validate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KUBERNETES_VERSION = "1.30"
"""The Kubernetes version the sandbox claims on /version and validates objects against."""

READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "delete", "deletecollection", "patch", "update")


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and what its objects are called."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    has_status: bool = False
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    custom: bool = False
    """A CRD's kind: kubernetes-validate has no schema for it, so its objects are stored unvalidated."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_generation(self) -> bool:
        """Kinds whose ``metadata.generation`` counts spec changes (what controllers observe)."""
        return self.kind in {
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "HorizontalPodAutoscaler",
            "Job",
            "CronJob",
            "PodDisruptionBudget",
            "ScaledObject",
        }


_ALL = ("all",)
RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, ("ns",), True),
    ResourceType("", "v1", "Node", "nodes", False, ("no",), True),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), True),
    ResourceType("", "v1", "Pod", "pods", True, ("po",), True, ("log", "status"), _ALL),
    ResourceType("", "v1", "Event", "events", True, ("ev",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType("", "v1", "Service", "services", True, ("svc",), True, ("status",), _ALL),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    ResourceType("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), True),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), True),
    ResourceType("", "v1", "LimitRange", "limitranges", True, ("limits",)),
    ResourceType(
        "apps", "v1", "Deployment", "deployments", True, ("deploy",), True, ("scale", "status"), _ALL
    ),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), True, ("scale", "status"), _ALL),
    ResourceType(
        "apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), True, ("scale", "status"), _ALL
    ),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), True, ("status",), _ALL),
    ResourceType("batch", "v1", "Job", "jobs", True, (), True, ("status",), _ALL),
    ResourceType("batch", "v1", "CronJob", "cronjobs", True, ("cj",), True, ("status",), _ALL),
    ResourceType(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        True,
        ("hpa",),
        True,
        ("status",),
        _ALL,
    ),
    ResourceType(
        "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), True, ("status",)
    ),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), True),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    # Aggregated APIs register here; ``v1beta1.metrics.k8s.io`` Available is what an HPA needs.
    ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, (), True, ("status",)),
    # KEDA's CRD, stored as plain data so that workflows can see which workloads KEDA scales.
    ResourceType(
        "keda.sh", "v1alpha1", "ScaledObject", "scaledobjects", True, ("so",), True, ("status",), custom=True
    ),
)

_BY_KIND = {r.kind: r for r in RESOURCES}
_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_LOOKUP = {alias.lower(): r for r in RESOURCES for alias in (r.kind, r.plural, r.singular, *r.short_names)}


def by_kind(kind: str) -> ResourceType | None:
    """The type for a ``kind`` exactly as written in a manifest (``Deployment``)."""
    return _BY_KIND.get(kind)


def of_kind(kind: str) -> ResourceType:
    """The type for a kind the sandbox is known to serve (a programming error otherwise)."""
    return _BY_KIND[kind]


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at ``/api(s)/{group}/{version}/{plural}``."""
    return _BY_PATH.get((group, version, plural))


def lookup(name: str) -> ResourceType:
    """The type for a kind, plural, singular or short name, any case (``pod``, ``Pods``, ``deploy``)."""
    found = _LOOKUP.get(name.lower())
    if found is None:
        raise KeyError(f"the sandbox serves no resource called {name!r}")
    return found


def groups() -> list[tuple[str, str]]:
    """The served ``(group, version)`` pairs, core first, in a stable order."""
    seen: dict[tuple[str, str], None] = {}
    for r in RESOURCES:
        seen[(r.group, r.version)] = None
    return list(seen)


def version_info() -> dict[str, str]:
    """The body of ``/version``."""
    major, minor = KUBERNETES_VERSION.split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{KUBERNETES_VERSION}.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-04-17T00:00:00Z",
        "goVersion": "go1.22.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def core_versions(server_address: str) -> dict[str, Any]:
    """The body of ``/api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_doc(group: str) -> dict[str, Any]:
    versions = [
        {"groupVersion": f"{group}/{version}", "version": version} for g, version in groups() if g == group
    ]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def group_list() -> dict[str, Any]:
    """The body of ``/apis``."""
    names = list(dict.fromkeys(g for g, _ in groups() if g))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in names]}


def group(name: str) -> dict[str, Any] | None:
    """The body of ``/apis/{group}``, or None for a group the sandbox does not serve."""
    if not any(g == name for g, _ in groups()) or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name)}


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """The body of ``/api/v1`` or ``/apis/{group}/{version}`` (an ``APIResourceList``)."""
    if (group, version) not in groups():
        return None
    entries: list[dict[str, Any]] = []
    for r in RESOURCES:
        if (r.group, r.version) != (group, version):
            continue
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": [*WRITE_VERBS, *READ_VERBS],
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entries.append(entry)
        for sub in r.subresources:
            sub_entry: dict[str, Any] = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get"] if sub == "log" else ["get", "patch", "update"],
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1", kind="Scale")
            entries.append(sub_entry)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def discovery_document(path: str, server_address: str) -> dict[str, Any] | None:
    """The discovery body served at ``path`` (``/api``, ``/apis/apps/v1``...), or None."""
    parts = path.strip("/").split("/")
    if parts == ["api"]:
        return core_versions(server_address)
    if parts == ["apis"]:
        return group_list()
    if parts[0] == "api" and len(parts) == 2:
        return resource_list("", parts[1])
    if parts[0] == "apis" and len(parts) == 2:
        return group(parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return resource_list(parts[1], parts[2])
    return None
