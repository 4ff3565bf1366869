"""The deployment controller: revisions, ReplicaSets per pod template, rolling updates and status.

A changed ``spec.template`` gets the ReplicaSet whose template matches it (a rollback reuses the old
one, with the next revision, as Kubernetes does) or a new one named after the template's hash. How
the pods move over depends on the Deployment's rollout step (``step_seconds``):

- 0 s, the default: instant. Every other ReplicaSet is scaled to 0 and the new one to
  ``spec.replicas`` in one sync.
- more than 0 (the Deployment annotation ``sandbox.aiops.dev/rollout-step-seconds``, else the
  scenario's ``rollout_step_seconds``): the Deployment's pods turn Ready that many seconds after they
  start, and the RollingUpdate strategy of kube-controller-manager's ``rolling.go`` (``sandbox.rolling``)
  moves the rollout on as they do: the new ReplicaSet grows within ``maxSurge``, old ones shrink within
  ``maxUnavailable`` (a percentage of surge rounds up, of unavailable down; both 0 means 1
  unavailable). With maxSurge 1 and maxUnavailable 0, one pod is replaced per step.
  ``ProgressController`` runs the controller on the sandbox clock, before each API request and
  scrape: with a frozen clock, advance one step and read once per step.

Both honour ``spec.paused`` (no new ReplicaSet and no rollout while paused; scaling still applies) and
write ``status`` and the Progressing / Available conditions as ``syncRolloutStatus`` and
``calculateStatus`` do, including ProgressDeadlineExceeded after ``progressDeadlineSeconds``.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from sandbox import rolling
from sandbox.host import ControllerHost
from sandbox.resources import of_kind
from sandbox.store import clone
from sandbox.units import parse_time, rfc3339

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
HASH_LABEL = "pod-template-hash"
STEP_ANNOTATION = "sandbox.aiops.dev/rollout-step-seconds"
"""Deployment annotation: seconds a new pod takes to turn Ready, which turns progressive rollouts on."""
STEP_KEY = "rollout_step_seconds"
"""The scenario.yaml key with the same meaning for every Deployment without the annotation."""
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NO_DEADLINE = 2**31 - 1
DEPLOYMENT, RS, POD = of_kind("Deployment"), of_kind("ReplicaSet"), of_kind("Pod")


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


# --- the rollout step ---------------------------------------------------------------------------
def step_seconds(scenario: dict[str, Any], dep: dict[str, Any]) -> float:
    """The Deployment's rollout step in seconds (0: instant rollouts), from its annotation or the scenario."""
    value = (dep["metadata"].get("annotations") or {}).get(STEP_ANNOTATION, scenario.get(STEP_KEY, 0))
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0


def ready_delay(ctl: ControllerHost, rs: dict[str, Any]) -> float:
    """Seconds a new pod of ``rs`` takes to turn Ready: its Deployment's rollout step (0 without one)."""
    ref = controller_of(rs)
    if ref is None or ref.get("kind") != "Deployment":
        return 0.0
    dep = ctl.store.get(DEPLOYMENT, rs["metadata"]["namespace"], ref["name"])
    return step_seconds(ctl.scenario, dep) if dep is not None else 0.0


# --- ReplicaSets ----------------------------------------------------------------------------------
def _new_replicaset(dep: dict[str, Any], number: int, replicas: int) -> dict[str, Any]:
    spec, meta = dep["spec"], dep["metadata"]
    pod_hash = template_hash(spec["template"])
    template = clone(spec["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
    selector = clone(spec["selector"])
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    desired = rolling.dep_replicas(dep)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta["namespace"],
            "labels": template["metadata"]["labels"],
            "annotations": {
                REVISION: str(number),
                rolling.DESIRED: str(desired),
                rolling.MAX_REPLICAS: str(desired + rolling.max_surge(dep)),
            },
            "ownerReferences": [owner_ref(dep)],
        },
        "spec": {"replicas": replicas, "selector": selector, "template": template},
    }


def _sync_revision(
    ctl: ControllerHost, dep: dict[str, Any], replicasets: list[dict[str, Any]], create: bool, now: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(new ReplicaSet or None, old ones): ``getAllReplicaSetsAndSyncRevision``.

    The new one is the oldest ReplicaSet whose template matches; an old revision reused (a rollback)
    gets the next revision number; with ``create`` a missing one is created, sized for the strategy.
    """
    store = ctl.store
    wanted = bare_template(dep["spec"]["template"])
    matching = sorted(
        (rs for rs in replicasets if bare_template(rs["spec"]["template"]) == wanted), key=rolling.rs_created
    )
    new = matching[0] if matching else None
    olds = [rs for rs in replicasets if new is None or rs["metadata"]["uid"] != new["metadata"]["uid"]]
    top = max((revision(rs) for rs in olds), default=0)
    status = dep.setdefault("status", {})
    if new is not None:
        if revision(new) < top + 1:
            annotations = new["metadata"].setdefault("annotations", {})
            if revision(new):
                history = [h for h in annotations.get(HISTORY, "").split(",") if h]
                annotations[HISTORY] = ",".join([*history, str(revision(new))])
            annotations[REVISION] = str(top + 1)
            new = store.update(RS, new)
        if _has_deadline(dep) and _condition(status, "Progressing") is None:
            message = f'Found new replica set "{new["metadata"]["name"]}"'
            _set_condition(status, "Progressing", "True", "FoundNewReplicaSet", message, now)
        return new, olds
    if not create:
        return None, olds
    instant = step_seconds(ctl.scenario, dep) <= 0 or not rolling.is_rolling(dep)
    size = 0 if instant else rolling.new_rs_replicas(dep, olds, 0)
    new = _new_replicaset(dep, top + 1, size)
    if store.get(RS, *store.key(new)) is not None:  # a hash collision with a foreign RS
        new["metadata"]["name"] += f"-{top + 1}"
    new = store.create(RS, store.stamp(new, RS))
    if size:
        ctl.object_event(
            dep,
            "ScalingReplicaSet",
            f"Scaled up replica set {new['metadata']['name']} from 0 to {size}",
            "deployment-controller",
        )
    new = ctl.reconcile_replicaset(new)
    if _has_deadline(dep):
        message = f'Created new replica set "{new["metadata"]["name"]}"'
        _set_condition(status, "Progressing", "True", "NewReplicaSetCreated", message, now)
    return new, olds


# --- the controller -------------------------------------------------------------------------------
def reconcile(ctl: ControllerHost, dep: dict[str, Any]) -> dict[str, Any]:
    """One deployment-controller sync of ``dep`` (``syncDeployment``); returns the stored Deployment."""
    store = ctl.store
    dep = store.get(DEPLOYMENT, *store.key(dep)) or dep
    now = rfc3339(store.clock.time())
    replicasets = [ctl.reconcile_replicaset(rs) for rs in store.owned_by(RS, dep)]
    _paused_conditions(dep, now)
    paused = bool(dep["spec"].get("paused"))
    new, olds = _sync_revision(ctl, dep, replicasets, not paused, now)
    if paused or rolling.scaling_event(dep, new, olds):
        rolling.scale_deployment(ctl, dep, new, olds)
        if paused:
            _prune(ctl, dep, new)
        return _write_status(ctl, dep, new, progress=False)
    assert new is not None
    if step_seconds(ctl.scenario, dep) <= 0 or not rolling.is_rolling(dep):
        for rs in olds:  # instant, and Recreate: the sandbox deletes old pods at once
            rolling.scale_rs(ctl, dep, rs, 0)
        rolling.scale_rs(ctl, dep, new, rolling.dep_replicas(dep))
    else:
        rolling.roll(ctl, dep, new, olds)
    _prune(ctl, dep, new)
    return _write_status(ctl, dep, new, progress=True)


def _prune(ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any] | None) -> None:
    """``cleanupDeployment``: delete empty old ReplicaSets beyond ``revisionHistoryLimit``, oldest first."""
    limit = dep["spec"].get("revisionHistoryLimit", 10)
    old = [
        rs
        for rs in ctl.store.owned_by(RS, dep)
        if (new is None or rs["metadata"]["uid"] != new["metadata"]["uid"])
        and not rolling.rs_size(rs)
        and not rolling.rs_count(rs, "replicas")
    ]
    for rs in sorted(old, key=revision)[: max(0, len(old) - limit)]:
        ctl.store.delete(RS, *ctl.store.key(rs))


# --- status and conditions ------------------------------------------------------------------------
def _has_deadline(dep: dict[str, Any]) -> bool:
    deadline = dep["spec"].get("progressDeadlineSeconds")
    return deadline is not None and deadline != _NO_DEADLINE


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def _set_condition(
    status: dict[str, Any], kind: str, value: str, reason: str, message: str, now: str
) -> None:
    """``SetDeploymentCondition``: unchanged when status and reason are; the transition time kept
    when only the reason changes; the condition moves to the end of the list."""
    current = _condition(status, kind)
    if current is not None and current.get("status") == value and current.get("reason") == reason:
        return
    since = current["lastTransitionTime"] if current is not None and current.get("status") == value else now
    condition = {
        "type": kind,
        "status": value,
        "lastUpdateTime": now,
        "lastTransitionTime": since,
        "reason": reason,
        "message": message,
    }
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind] + [condition]


def _paused_conditions(dep: dict[str, Any], now: str) -> None:
    """``checkPausedConditions``: Progressing Unknown with DeploymentPaused / DeploymentResumed."""
    if not _has_deadline(dep):
        return
    status = dep.setdefault("status", {})
    current = _condition(status, "Progressing")
    if current is not None and current.get("reason") == "ProgressDeadlineExceeded":
        return
    paused_before = current is not None and current.get("reason") == "DeploymentPaused"
    if dep["spec"].get("paused") and not paused_before:
        _set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now)
    elif not dep["spec"].get("paused") and paused_before:
        _set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now)


def _calculate(
    dep: dict[str, Any], replicasets: list[dict[str, Any]], new: dict[str, Any] | None, now: str
) -> dict[str, Any]:
    """``calculateStatus``: counts over all ReplicaSets, and the Available condition."""
    before = dep.get("status") or {}
    available = sum(rolling.rs_count(rs, "availableReplicas") for rs in replicasets)
    status: dict[str, Any] = {
        "observedGeneration": dep["metadata"].get("generation", 1),
        "replicas": sum(rolling.rs_count(rs, "replicas") for rs in replicasets),
        "updatedReplicas": rolling.rs_count(new, "replicas"),
        "readyReplicas": sum(rolling.rs_count(rs, "readyReplicas") for rs in replicasets),
        "availableReplicas": available,
    }
    unavailable = sum(rolling.rs_size(rs) for rs in replicasets) - available
    if unavailable > 0:
        status["unavailableReplicas"] = unavailable
    if "collisionCount" in before:
        status["collisionCount"] = before["collisionCount"]
    status["conditions"] = clone(before.get("conditions") or [])
    if available >= rolling.dep_replicas(dep) - rolling.max_unavailable(dep):
        _set_condition(
            status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            now,
        )
    else:
        _set_condition(
            status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            now,
        )
    return status


def _complete(dep: dict[str, Any], status: dict[str, Any]) -> bool:
    """``DeploymentComplete``: every replica updated and available, and the latest spec observed."""
    desired = rolling.dep_replicas(dep)
    return (
        status.get("updatedReplicas", 0) == desired
        and status.get("replicas", 0) == desired
        and status.get("availableReplicas", 0) == desired
        and status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 1)
    )


def _progressing(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """``DeploymentProgressing``: more updated, ready or available replicas, or fewer old ones."""
    old_before = before.get("replicas", 0) - before.get("updatedReplicas", 0)
    old_after = after.get("replicas", 0) - after.get("updatedReplicas", 0)
    return (
        after.get("updatedReplicas", 0) > before.get("updatedReplicas", 0)
        or old_after < old_before
        or after.get("readyReplicas", 0) > before.get("readyReplicas", 0)
        or after.get("availableReplicas", 0) > before.get("availableReplicas", 0)
    )


def _timed_out(dep: dict[str, Any], status: dict[str, Any], now: float) -> bool:
    condition = _condition(status, "Progressing")
    if condition is None or condition.get("reason") == "NewReplicaSetAvailable":
        return False
    if condition.get("reason") == "ProgressDeadlineExceeded":
        return True
    return parse_time(condition["lastUpdateTime"]) + dep["spec"]["progressDeadlineSeconds"] < now


def _progress_conditions(
    dep: dict[str, Any], status: dict[str, Any], new: dict[str, Any] | None, now: float
) -> None:
    """``syncRolloutStatus``: Progressing True while replicas move, NewReplicaSetAvailable when done,
    ProgressDeadlineExceeded after ``progressDeadlineSeconds`` without progress."""
    if not _has_deadline(dep):
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != "Progressing"]
        return
    before = dep.get("status") or {}
    current = _condition(before, "Progressing")
    if (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == "NewReplicaSetAvailable"
    ):
        return
    what = (
        f'ReplicaSet "{new["metadata"]["name"]}"'
        if new is not None
        else f'Deployment "{dep["metadata"]["name"]}"'
    )
    stamp = rfc3339(now)
    if _complete(dep, status):
        _set_condition(
            status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            f"{what} has successfully progressed.",
            stamp,
        )
    elif _progressing(before, status):
        since = (
            current["lastTransitionTime"]
            if current is not None and current.get("status") == "True"
            else stamp
        )
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != "Progressing"] + [{
            "type": "Progressing", "status": "True", "lastUpdateTime": stamp, "lastTransitionTime": since,
            "reason": "ReplicaSetUpdated", "message": f"{what} is progressing.",
        }]  # fmt: skip
    elif _timed_out(dep, status, now):
        _set_condition(
            status,
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            f"{what} has timed out progressing.",
            stamp,
        )


def _write_status(
    ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any] | None, progress: bool
) -> dict[str, Any]:
    store = ctl.store
    now = store.clock.time()
    replicasets = store.owned_by(RS, dep)
    if new is not None:
        new = next((rs for rs in replicasets if rs["metadata"]["uid"] == new["metadata"]["uid"]), None)
    status = _calculate(dep, replicasets, new, rfc3339(now))
    if progress:
        _progress_conditions(dep, status, new, now)
    stored = store.get(DEPLOYMENT, *store.key(dep))
    if new is not None:
        dep["metadata"].setdefault("annotations", {})[REVISION] = str(revision(new))
    dep["status"] = status
    return dep if dep == stored else store.update(DEPLOYMENT, dep)


def update_status(ctl: ControllerHost, dep: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Recompute a Deployment's status (and revision annotation) from its ReplicaSets and pods."""
    store = ctl.store
    dep = store.get(DEPLOYMENT, *store.key(dep)) or dep
    if current is None:
        wanted = bare_template(dep["spec"]["template"])
        current = next(
            (
                rs
                for rs in sorted(store.owned_by(RS, dep), key=rolling.rs_created)
                if bare_template(rs["spec"]["template"]) == wanted
            ),
            None,
        )
    return _write_status(ctl, dep, current, progress=not dep["spec"].get("paused"))


class ProgressController:
    """Runs the deployment controller for progressive rollouts as the clock moves (its resyncs).

    A Deployment with a rollout step is synced when anything in the store changed, or when one of its
    pods turns Ready or its progress deadline passes; callers hold ``store.lock``.
    """

    def __init__(self, controllers: ControllerHost) -> None:
        self.controllers = controllers
        self._due: dict[str, float] = {}
        self._seen = ""

    def sync(self) -> None:
        ctl = self.controllers
        store = ctl.store
        now = store.clock.time()
        changed = store.resource_version != self._seen
        progressive = store.items(DEPLOYMENT, keep=lambda d: step_seconds(ctl.scenario, d) > 0)
        for dep in progressive:
            uid = dep["metadata"]["uid"]
            if changed or now >= self._due.get(uid, -math.inf):
                self._due[uid] = self._next_change(reconcile(ctl, dep), now)
        self._seen = store.resource_version

    def _next_change(self, dep: dict[str, Any], now: float) -> float:
        """When this Deployment's state can next change on its own: a pod turning Ready or the deadline."""
        store = self.controllers.store
        times = []
        for rs in store.owned_by(RS, dep):
            for pod in store.owned_by(POD, rs):
                behaviour = store.behaviours.get(pod["metadata"]["uid"])
                if behaviour is not None and not behaviour.crashing:
                    times.append(behaviour.started + behaviour.ready_delay_s)
        condition = _condition(dep.get("status") or {}, "Progressing")
        settled = ("NewReplicaSetAvailable", "ProgressDeadlineExceeded")
        if (
            condition is not None
            and _has_deadline(dep)
            and not dep["spec"].get("paused")
            and condition.get("reason") not in settled
        ):
            deadline = dep["spec"]["progressDeadlineSeconds"]
            times.append(parse_time(condition["lastUpdateTime"]) + deadline + 1e-3)
        return min((t for t in times if t > now), default=math.inf)
