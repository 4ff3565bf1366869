"""The deployment controller: revisions, ReplicaSets per pod template, rollbacks and status.

A changed ``spec.template`` gets the ReplicaSet whose template matches it (a rollback reuses the
old one, as Kubernetes does, with the next revision number) or a new one named after the
template's hash; every other ReplicaSet is scaled to 0. The rollout is instant.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from sandbox.resources import of_kind
from sandbox.store import clone
from sandbox.units import rfc3339

if TYPE_CHECKING:
    from sandbox.controllers import Controllers

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
HASH_LABEL = "pod-template-hash"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
DEPLOYMENT, RS = of_kind("Deployment"), of_kind("ReplicaSet")


def revision(obj: dict[str, Any]) -> int:
    """The ``deployment.kubernetes.io/revision`` annotation as a number (0 when absent)."""
    value = (obj["metadata"].get("annotations") or {}).get(REVISION, "0")
    return int(value) if str(value).isdigit() else 0


def bare_template(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template without the pod-template-hash label, for comparing revisions."""
    bare: dict[str, Any] = clone(template)
    labels = (bare.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
        if not labels:
            bare["metadata"].pop("labels")
    return bare


def template_hash(template: dict[str, Any]) -> str:
    """A stable 10-character name suffix for a pod template (Kubernetes uses fnv32a; any hash will do)."""
    digest = hashlib.sha256(json.dumps(bare_template(template), sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The owner reference marked ``controller`` (or the first one)."""
    refs = obj["metadata"].get("ownerReferences") or []
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


def _new_replicaset(dep: dict[str, Any], number: int) -> dict[str, Any]:
    spec, meta = dep["spec"], dep["metadata"]
    pod_hash = template_hash(spec["template"])
    template = clone(spec["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
    selector = clone(spec["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    replicas = spec.get("replicas", 1)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": template["metadata"]["labels"],
            "annotations": {
                REVISION: str(number),
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + 1),
            },
            "ownerReferences": [owner_ref(dep)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }


def _scale(ctl: Controllers, dep: dict[str, Any], rs: dict[str, Any], replicas: int) -> dict[str, Any]:
    before = rs["spec"].get("replicas", 1)
    if before != replicas:
        rs["spec"]["replicas"] = replicas
        rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
        rs = ctl.store.update(RS, rs)
        direction = "up" if replicas > before else "down"
        ctl.object_event(
            dep,
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}",
            "deployment-controller",
        )
    return ctl.reconcile_replicaset(rs)


def reconcile(ctl: Controllers, dep: dict[str, Any]) -> dict[str, Any]:
    """Bring a Deployment's ReplicaSets and pods in line with its spec; returns the stored Deployment."""
    store = ctl.store
    replicasets = store.owned_by(RS, dep)
    wanted = bare_template(dep["spec"]["template"])
    current = next((rs for rs in replicasets if bare_template(rs["spec"]["template"]) == wanted), None)
    if dep["spec"].get("paused") and replicasets and current is None:
        return update_status(ctl, dep, None)
    top = max((revision(rs) for rs in replicasets), default=0)
    if current is None:
        new = _new_replicaset(dep, top + 1)
        if store.get(RS, *store.key(new)) is not None:  # a hash collision with a foreign RS
            new["metadata"]["name"] += f"-{top + 1}"
        current = store.create(RS, store.stamp(new, RS))
    elif revision(current) < top:
        annotations = current["metadata"].setdefault("annotations", {})
        history = [h for h in annotations.get(HISTORY, "").split(",") if h]
        annotations[HISTORY] = ",".join([*history, str(revision(current))])
        annotations[REVISION] = str(top + 1)
        current = store.update(RS, current)
    for rs in replicasets:
        if rs["metadata"]["uid"] != current["metadata"]["uid"]:
            _scale(ctl, dep, rs, 0)
    current = _scale(ctl, dep, current, dep["spec"].get("replicas", 1))
    _prune(ctl, dep, current)
    return update_status(ctl, dep, current)


def _prune(ctl: Controllers, dep: dict[str, Any], current: dict[str, Any]) -> None:
    limit = dep["spec"].get("revisionHistoryLimit", 10)
    old = [
        rs
        for rs in ctl.store.owned_by(RS, dep)
        if rs["metadata"]["uid"] != current["metadata"]["uid"] and not rs["spec"].get("replicas")
    ]
    for rs in sorted(old, key=revision)[: max(0, len(old) - limit)]:
        ctl.store.delete(RS, *ctl.store.key(rs))


def update_status(ctl: Controllers, dep: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Recompute a Deployment's status (and revision annotation) from its ReplicaSets and pods."""
    store = ctl.store
    dep = store.get(DEPLOYMENT, *store.key(dep)) or dep
    replicasets = store.owned_by(RS, dep)
    if current is None:
        wanted = bare_template(dep["spec"]["template"])
        current = next((rs for rs in replicasets if bare_template(rs["spec"]["template"]) == wanted), None)
    desired = dep["spec"].get("replicas", 1)
    total = sum((rs.get("status") or {}).get("replicas", 0) for rs in replicasets)
    ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in replicasets)
    updated = ((current or {}).get("status") or {}).get("replicas", 0)
    max_unavailable = dep["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable", "25%")
    if isinstance(max_unavailable, str):
        max_unavailable = desired * int(max_unavailable.rstrip("%")) // 100
    now = rfc3339(store.clock.time())
    available = ready >= desired - max_unavailable
    name = (current or {}).get("metadata", {}).get("name", "")
    done = updated == desired and ready == desired and total == desired
    status: dict[str, Any] = {
        "observedGeneration": dep["metadata"].get("generation", 1),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
    }
    if total - ready > 0:
        status["unavailableReplicas"] = total - ready
    old = {c["type"]: c for c in (dep.get("status") or {}).get("conditions") or []}
    conditions = [
        (
            "Available",
            available,
            "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        ),
        (
            "Progressing",
            True,
            "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
            f'ReplicaSet "{name}" has successfully progressed.'
            if done
            else f'ReplicaSet "{name}" is progressing.',
        ),
    ]
    status["conditions"] = []
    for kind, ok, reason, message in conditions:
        text = "True" if ok else "False"
        previous = old.get(kind, {})
        same = previous.get("status") == text
        since = previous.get("lastTransitionTime", now) if same else now
        touched = previous.get("lastUpdateTime", now) if same and previous.get("reason") == reason else now
        status["conditions"].append(
            {
                "type": kind,
                "status": text,
                "lastUpdateTime": touched,
                "lastTransitionTime": since,
                "reason": reason,
                "message": message,
            }
        )
    before = clone(dep)
    if current is not None:
        dep["metadata"].setdefault("annotations", {})[REVISION] = str(revision(current))
    dep["status"] = status
    return dep if dep == before else store.update(DEPLOYMENT, dep)
