"""The workload a pod belongs to, and how its replicas are doing.

An incident is about a workload, not one pod: the Deployment (through its ReplicaSet), StatefulSet,
DaemonSet, CronJob (through its Job) or Job that controls the pod; a pod no controller owns is its own
workload. The pure helpers read owner references and pod status; the two functions that take a ``Kube``
read the owners and the sibling pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.domain import Target
from workers.errors import ActionRefused, NotFound
from workers.integrations.kubernetes.evidence import container_summaries

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

PARENTS = {"ReplicaSet": "Deployment", "Job": "CronJob"}
"""Controllers that are usually owned themselves: the workload is their owner, when they have that one."""


def controller_of(obj: dict[str, Any]) -> tuple[str, str] | None:
    """``(kind, name)`` of the object's controller: the owner reference marked ``controller``, else the
    first one."""
    refs = [ref for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if isinstance(ref, dict)]
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if ref is None or not ref.get("kind") or not ref.get("name"):
        return None
    return str(ref["kind"]), str(ref["name"])


def own_workload(pod: dict[str, Any], namespace: str) -> Target:
    """The pod's workload as far as its own owner references tell (no reads): its controller, or itself."""
    controller = controller_of(pod)
    if controller is None:
        return Target(kind="Pod", namespace=namespace, name=str((pod.get("metadata") or {}).get("name")))
    return Target(kind=controller[0], namespace=namespace, name=controller[1])


def parent_workload(nearer: Target, owner: dict[str, Any] | None) -> Target:
    """``nearer`` (a ReplicaSet or Job) replaced by its Deployment or CronJob when ``owner`` (the object
    ``nearer`` names) is controlled by one; otherwise ``nearer`` is the workload."""
    wanted = PARENTS.get(nearer.kind)
    parent = controller_of(owner) if owner else None
    if wanted is None or parent is None or parent[0] != wanted:
        return nearer
    return Target(kind=parent[0], namespace=nearer.namespace, name=parent[1])


def workload_of(kube: Kube, namespace: str, pod: dict[str, Any]) -> Target:
    """The workload controlling ``pod``. An owner that is gone or that RBAC hides ends the walk there;
    a ``TemporaryError`` propagates (a retry must not put the pod into an incident of its own)."""
    nearer = own_workload(pod, namespace)
    if nearer.kind not in PARENTS:
        return nearer
    try:
        owner = kube.get_workload(nearer.kind, namespace, nearer.name)
    except (NotFound, ActionRefused):
        return nearer
    return parent_workload(nearer, owner)


def pod_state(pod: dict[str, Any]) -> dict[str, Any]:
    """One pod in a line: phase, readiness, restarts and the reason it is not running."""
    containers = [c for c in container_summaries(pod) if not c["init"]]
    phase = (pod.get("status") or {}).get("phase")
    ready = bool(containers) and all(c["ready"] for c in containers)
    waiting = next((c["waiting"]["reason"] for c in container_summaries(pod) if c["waiting"]), None)
    terminated = next(
        (c["lastTerminated"]["reason"] for c in containers if c["lastTerminated"] and not c["ready"]), None
    )
    return {
        "name": (pod.get("metadata") or {}).get("name"),
        "phase": phase,
        "ready": ready,
        "restarts": sum(c["restartCount"] for c in containers),
        "waiting": waiting,
        "last_terminated": terminated,
        "failing": phase != "Succeeded" and not ready,
    }


def desired_replicas(workload: Target, obj: dict[str, Any] | None, pods: int) -> int:
    """How many pods the workload asks for (the pods seen, when its object says nothing usable)."""
    spec, status = (obj or {}).get("spec") or {}, (obj or {}).get("status") or {}
    if workload.kind in ("Deployment", "StatefulSet", "ReplicaSet") and obj is not None:
        return int(spec["replicas"]) if spec.get("replicas") is not None else 1
    if workload.kind == "DaemonSet" and status.get("desiredNumberScheduled") is not None:
        return int(status["desiredNumberScheduled"])
    return max(pods, 1)


def replica_state(workload: Target, obj: dict[str, Any] | None, pods: list[dict[str, Any]]) -> dict[str, Any]:
    """``"3 of 5 replicas failing"`` and each pod's state, from the workload's object and its pods."""
    states = sorted((pod_state(pod) for pod in pods), key=lambda state: str(state["name"]))
    desired = desired_replicas(workload, obj, len(states))
    failing = sum(1 for state in states if state["failing"])
    noun = "replica" if desired == 1 else "replicas"
    return {
        "desired": desired,
        "seen": len(states),
        "failing": failing,
        "summary": f"{failing} of {desired} {noun} failing",
        "pods": states,
    }


def belongs_to(pod: dict[str, Any], workload: Target) -> bool:
    """Whether ``pod`` is one of ``workload``'s, judged by its controller reference (no reads)."""
    controller = controller_of(pod)
    if workload.kind == "Pod":
        return controller is None and (pod.get("metadata") or {}).get("name") == workload.name
    if controller is None:
        return False
    kind, name = controller
    child = next((k for k, v in PARENTS.items() if v == workload.kind), None)
    if child is not None:  # a Deployment's ReplicaSets are <name>-<hash>, a CronJob's Jobs <name>-<time>
        return kind == child and name.rsplit("-", 1)[0] == workload.name
    return (kind, name) == (workload.kind, workload.name)


def workload_pods(kube: Kube, workload: Target) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The workload's object (None for a bare pod, or when it cannot be read) and its current pods."""
    if workload.kind == "Pod":
        try:
            return None, [kube.get_pod(workload.namespace, workload.name)]
        except NotFound:
            return None, []
    try:
        obj: dict[str, Any] | None = kube.get_workload(workload.kind, workload.namespace, workload.name)
    except (NotFound, ActionRefused):
        obj = None
    spec = (obj or {}).get("spec") or {}
    if workload.kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    labels = (spec.get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items())) or None
    pods = kube.list_pods(workload.namespace, selector)
    return obj, [pod for pod in pods if belongs_to(pod, workload)]
