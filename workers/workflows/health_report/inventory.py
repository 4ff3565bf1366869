"""What the health report reads from the cluster: slim records built while paging through each list.

Each kind is read with ``list_paged`` (``limit``/``continue``) and reduced, object by object, to the few
fields the sections use, so memory grows with the number of objects, not with their size. A list the
API server refuses (RBAC) or cannot answer is kept as a reason, and the sections that need it say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workers.errors import ActionRefused, AiopsError
from workers.integrations.kubernetes.client import list_paged
from workers.integrations.kubernetes.quantities import parse_bytes, parse_millicores


@dataclass(frozen=True)
class Resources:
    """CPU in millicores and memory in bytes."""

    cpu_m: int = 0
    memory_b: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_b + other.memory_b)


def resources(data: dict[str, Any] | None) -> Resources:
    """``{"cpu": "250m", "memory": "256Mi"}`` as ``Resources`` (unparsable values count as 0)."""
    data = data or {}
    try:
        cpu = parse_millicores(data["cpu"]) if "cpu" in data else 0
    except (ValueError, TypeError):
        cpu = 0
    try:
        memory = parse_bytes(data["memory"]) if "memory" in data else 0
    except (ValueError, TypeError):
        memory = 0
    return Resources(cpu, memory)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class Pod:
    namespace: str
    name: str
    phase: str
    node: str | None
    created: datetime | None
    owner: str | None
    """``Kind/name`` of the controller."""
    requests: Resources
    limits: Resources
    restarts: int
    waiting: dict[str, str]
    """Container name -> waiting reason (CrashLoopBackOff, ImagePullBackOff, ...)."""
    oom_killed: list[str]
    """Containers whose last termination was OOMKilled."""
    unscheduled: str | None
    """The PodScheduled=False reason and message, when the scheduler could not place it."""


def _pod(obj: dict[str, Any]) -> Pod:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    requests, limits = Resources(), Resources()
    for container in spec.get("containers") or []:
        res = container.get("resources") or {}
        requests += resources(res.get("requests"))
        limits += resources(res.get("limits"))
    restarts, waiting, oom = 0, {}, []
    for cs in status.get("containerStatuses") or []:
        restarts += int(cs.get("restartCount") or 0)
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason:
            waiting[str(cs.get("name"))] = str(reason)
        last = (cs.get("lastState") or {}).get("terminated") or {}
        current = (cs.get("state") or {}).get("terminated") or {}
        if "OOMKilled" in (last.get("reason"), current.get("reason")):
            oom.append(str(cs.get("name")))
    unscheduled = None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reason = condition.get("reason") or "Unschedulable"
            unscheduled = f"{reason}: {condition.get('message') or ''}".strip()
    owners = [ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")]
    owner = f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else None
    return Pod(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        phase=str(status.get("phase") or "Unknown"),
        node=spec.get("nodeName"),
        created=parse_time(meta.get("creationTimestamp")),
        owner=owner,
        requests=requests,
        limits=limits,
        restarts=restarts,
        waiting=waiting,
        oom_killed=oom,
        unscheduled=unscheduled,
    )


@dataclass
class Node:
    name: str
    ready: str
    """``True``, ``False`` or ``Unknown``."""
    pressure: list[str]
    unschedulable: bool
    kubelet: str
    created: datetime | None
    allocatable: Resources


def _node(obj: dict[str, Any]) -> Node:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    ready, pressure = "Unknown", []
    for condition in status.get("conditions") or []:
        kind, value = condition.get("type"), condition.get("status")
        if kind == "Ready":
            ready = str(value)
        elif (
            kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")
            and value == "True"
        ):
            pressure.append(str(kind))
    return Node(
        name=str(meta.get("name") or ""),
        ready=ready,
        pressure=pressure,
        unschedulable=bool(spec.get("unschedulable")),
        kubelet=str((status.get("nodeInfo") or {}).get("kubeletVersion") or ""),
        created=parse_time(meta.get("creationTimestamp")),
        allocatable=resources(status.get("allocatable")),
    )


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    """A workload, HPA or PDB without its pod template (the part that makes them large)."""
    spec = {key: value for key, value in (obj.get("spec") or {}).items() if key != "template"}
    meta = obj.get("metadata") or {}
    return {
        "metadata": {"namespace": meta.get("namespace"), "name": meta.get("name")},
        "spec": spec,
        "status": obj.get("status") or {},
    }


@dataclass
class Inventory:
    """The cluster as the report saw it; ``missing`` says why a kind could not be read."""

    pods: list[Pod] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    statefulsets: list[dict[str, Any]] = field(default_factory=list)
    hpas: list[dict[str, Any]] = field(default_factory=list)
    pdbs: list[dict[str, Any]] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    """Kinds whose list failed because the API server did not answer (not because RBAC refused it)."""

    def why_missing(self, *kinds: str) -> str | None:
        """The reasons the listed kinds could not be read, or None when all were."""
        reasons = [f"{kind}: {self.missing[kind]}" for kind in kinds if kind in self.missing]
        return "; ".join(reasons) or None


READERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "pods": _pod,
    "nodes": _node,
    "deployments": _slim,
    "statefulsets": _slim,
    "horizontalpodautoscalers": _slim,
    "poddisruptionbudgets": _slim,
}
_FIELDS = {"horizontalpodautoscalers": "hpas", "poddisruptionbudgets": "pdbs"}
_KINDS = {
    "pods": "Pod",
    "nodes": "Node",
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "horizontalpodautoscalers": "HorizontalPodAutoscaler",
    "poddisruptionbudgets": "PodDisruptionBudget",
}


def read(kube: Any, page_size: int | None = None) -> Inventory:
    """Every kind the report needs, each degraded to a reason in ``missing`` when it cannot be read."""
    inventory = Inventory()
    for plural, reader in READERS.items():
        target: list[Any] = getattr(inventory, _FIELDS.get(plural, plural))
        try:
            items: Iterable[dict[str, Any]] = (
                list_paged(kube, _KINDS[plural], page_size) if page_size else list_paged(kube, _KINDS[plural])
            )
            for obj in items:
                target.append(reader(obj))
        except ActionRefused as exc:
            target.clear()
            inventory.missing[plural] = f"forbidden: {exc}"
        except AiopsError as exc:
            target.clear()
            inventory.missing[plural] = f"could not be read: {exc}"
            inventory.unreachable.add(plural)
    return inventory
