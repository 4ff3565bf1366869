"""The cluster's objects grouped by kind, the workloads (pod templates) among them, and finding builders.

Pods that a controller in the inventory owns are audited through that controller's template, so a
Deployment with 50 replicas yields one finding, weighted by its replicas, not 50.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit import severity

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
Obj = dict[str, Any]


def meta(obj: Obj) -> dict[str, Any]:
    return obj.get("metadata") or {}


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace_of(obj: Obj) -> str | None:
    value = meta(obj).get("namespace")
    return str(value) if value else None


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


@dataclass
class Workload:
    """Something that runs pods: its pod spec, the labels its pods carry, and how many run."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    pod_labels: dict[str, str]
    pod_annotations: dict[str, str]
    spec: dict[str, Any]
    replicas: int

    def containers(self) -> Iterator[dict[str, Any]]:
        """Every container, init and ephemeral container of the pod spec."""
        for key in ("initContainers", "containers", "ephemeralContainers"):
            yield from self.spec.get(key) or []


@dataclass
class Inventory:
    """Objects by kind, with the lookups the checks share."""

    by_kind: dict[str, list[Obj]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, objects: Iterable[Obj]) -> Inventory:
        inventory = cls()
        for obj in objects:
            inventory.by_kind[str(obj.get("kind", ""))].append(obj)
        return inventory

    def kind(self, kind: str) -> list[Obj]:
        return self.by_kind.get(kind, [])

    def names(self, kind: str) -> set[tuple[str | None, str]]:
        return {(namespace_of(obj), name_of(obj)) for obj in self.kind(kind)}

    def namespaces(self) -> dict[str, Obj]:
        return {name_of(obj): obj for obj in self.kind("Namespace")}

    def workloads(self) -> list[Workload]:
        """Top-level pod owners: controllers, and pods whose owner is not in the inventory."""
        present = {(kind, namespace_of(o), name_of(o)) for kind in WORKLOAD_KINDS for o in self.kind(kind)}
        nodes = max(len(self.kind("Node")), 1)
        found: list[Workload] = []
        for kind in WORKLOAD_KINDS:
            for obj in self.kind(kind):
                owners = meta(obj).get("ownerReferences") or []
                if any((ref.get("kind"), namespace_of(obj), ref.get("name")) in present for ref in owners):
                    continue
                workload = _workload(kind, obj, nodes)
                if workload is not None:
                    found.append(workload)
        return found


def _workload(kind: str, obj: Obj, nodes: int) -> Workload | None:
    spec = obj.get("spec") or {}
    template: dict[str, Any]
    if kind == "Pod":
        template = {"metadata": meta(obj), "spec": spec}
        replicas = 1
    elif kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        replicas = 1
    else:
        template = spec.get("template") or {}
        if kind == "DaemonSet":
            replicas = int((obj.get("status") or {}).get("desiredNumberScheduled") or nodes)
        elif kind == "Job":
            replicas = int(spec.get("parallelism") or 1)
        else:
            replicas = int(spec.get("replicas", 1) or 0)
    pod_spec = template.get("spec")
    if not isinstance(pod_spec, dict):
        return None
    template_meta = template.get("metadata") or {}
    return Workload(
        kind=kind,
        namespace=namespace_of(obj) or "default",
        name=name_of(obj),
        labels=labels_of(obj),
        pod_labels=dict(template_meta.get("labels") or {}),
        pod_annotations=dict(template_meta.get("annotations") or {}),
        spec=pod_spec,
        replicas=replicas,
    )


def finding(
    check_id: str,
    settings: SecuritySettings,
    *,
    namespace: str | None,
    kind: str | None,
    name: str | None,
    message: str,
    replicas: int = 1,
    evidence: dict[str, Any] | None = None,
    base_score: float | None = None,
) -> Finding:
    """A finding of ``check_id`` on one object, scored by the check's base score and the exposure."""
    check = severity.CHECKS[check_id]
    base = check.base_score if base_score is None else base_score
    critical = namespace is not None and namespace in settings.critical_namespaces
    return Finding(
        check=check.id,
        title=check.title,
        severity=severity.severity_of(base),
        score=round(base * severity.exposure(replicas, critical), 2),
        namespace=namespace,
        kind=kind,
        name=name,
        message=message,
        remediation=check.remediation,
        evidence={"base_score": base, "replicas": replicas, **(evidence or {})},
    )


def workload_finding(
    check_id: str, settings: SecuritySettings, workload: Workload, message: str, **evidence: Any
) -> Finding:
    return finding(
        check_id,
        settings,
        namespace=workload.namespace,
        kind=workload.kind,
        name=workload.name,
        message=f"{workload.kind} {workload.namespace}/{workload.name}: {message}",
        replicas=workload.replicas,
        evidence=evidence,
    )


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels and matchExpressions) against labels; ``{}`` matches all."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
