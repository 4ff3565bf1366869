"""The RollingUpdate strategy of kube-controller-manager's deployment controller (``rolling.go``).

The fenceposts (maxSurge rounds a percentage up, maxUnavailable down, and both 0 means 1 unavailable),
``NewRSNewReplicas``, ``reconcileNewReplicaSet`` / ``reconcileOldReplicaSets`` (unhealthy old pods
first, then as many as availability allows) and the proportional scaling of ``scale`` when
``spec.replicas`` changes mid-rollout. ``sandbox.rollouts`` decides when they run.
"""

from __future__ import annotations

from typing import Any

from sandbox.host import ControllerHost
from sandbox.resources import of_kind

DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
RS = of_kind("ReplicaSet")


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """``intstr.GetScaledValueFromIntOrPercent``: ``1`` -> 1, ``"25%"`` of ``total`` rounded up or down."""
    if isinstance(value, str):
        text = value.strip()
        if not text.endswith("%") or not text[:-1].isdigit():
            return int(text) if text.isdigit() else 0
        share = int(text[:-1]) * total
        return -(-share // 100) if round_up else share // 100
    return int(value or 0)


def dep_replicas(dep: dict[str, Any]) -> int:
    return int(dep["spec"].get("replicas", 1))


def is_rolling(dep: dict[str, Any]) -> bool:
    return (dep["spec"].get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def fenceposts(dep: dict[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) resolved against ``spec.replicas`` (``ResolveFenceposts``)."""
    rolling = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    desired = dep_replicas(dep)
    surge = scaled_value(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", "25%"), desired, False)
    return (surge, 1) if surge == 0 and unavailable == 0 else (surge, unavailable)


def max_surge(dep: dict[str, Any]) -> int:
    return fenceposts(dep)[0] if is_rolling(dep) else 0


def max_unavailable(dep: dict[str, Any]) -> int:
    if not is_rolling(dep) or dep_replicas(dep) == 0:
        return 0
    return min(fenceposts(dep)[1], dep_replicas(dep))


# --- ReplicaSets ----------------------------------------------------------------------------------
def rs_size(rs: dict[str, Any] | None) -> int:
    return int(rs["spec"].get("replicas", 1)) if rs is not None else 0


def rs_count(rs: dict[str, Any] | None, key: str) -> int:
    return int(((rs or {}).get("status") or {}).get(key, 0))


def rs_created(rs: dict[str, Any]) -> tuple[str, str]:
    return rs["metadata"].get("creationTimestamp", ""), rs["metadata"]["name"]


def scale_rs(
    ctl: ControllerHost, dep: dict[str, Any], rs: dict[str, Any], replicas: int, annotate: bool = False
) -> tuple[bool, dict[str, Any]]:
    """Set a ReplicaSet's size (``scaleReplicaSet``); (whether the size changed, the reconciled RS).

    The replica annotations are refreshed with every resize, and with ``annotate`` even without one.
    """
    before = rs_size(rs)
    annotations = rs["metadata"].setdefault("annotations", {})
    wanted = {DESIRED: str(dep_replicas(dep)), MAX_REPLICAS: str(dep_replicas(dep) + max_surge(dep))}
    stale = any(annotations.get(k) != v for k, v in wanted.items())
    if before != replicas or (annotate and stale):
        annotations.update(wanted)
        rs["spec"]["replicas"] = replicas
        if before != replicas:
            rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
        rs = ctl.store.update(RS, rs)
    if before != replicas:
        direction = "up" if replicas > before else "down"
        ctl.object_event(
            dep,
            "ScalingReplicaSet",
            f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}",
            "deployment-controller",
        )
    return before != replicas, ctl.reconcile_replicaset(rs)


def new_rs_replicas(dep: dict[str, Any], all_rs: list[dict[str, Any]], new_size: int) -> int:
    """``NewRSNewReplicas`` for RollingUpdate: as many more as maxSurge leaves room for."""
    desired = dep_replicas(dep)
    rolling = (dep["spec"].get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled_value(rolling.get("maxSurge", "25%"), desired, True)
    current = sum(rs_size(rs) for rs in all_rs)
    if current >= desired + surge:
        return new_size
    return new_size + min(desired + surge - current, desired - new_size)


# --- the strategy ---------------------------------------------------------------------------------
def roll(ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]) -> None:
    """``rolloutRolling`` until it has nothing left to do now: one scale-up or scale-down per pass."""
    for _ in range(2 * (dep_replicas(dep) + max_surge(dep)) + 4):
        scaled, new = _reconcile_new(ctl, dep, new, olds)
        if not scaled:
            scaled, olds = _reconcile_old(ctl, dep, new, olds)
        if not scaled:
            return


def _reconcile_new(
    ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]
) -> tuple[bool, dict[str, Any]]:
    desired, size = dep_replicas(dep), rs_size(new)
    if size == desired:
        return False, new
    target = desired if size > desired else new_rs_replicas(dep, [new, *olds], size)
    return scale_rs(ctl, dep, new, target)


def _reconcile_old(
    ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any], olds: list[dict[str, Any]]
) -> tuple[bool, list[dict[str, Any]]]:
    """``reconcileOldReplicaSets``: unhealthy old pods first, then as many as availability allows."""
    if not sum(rs_size(rs) for rs in olds):
        return False, olds
    min_available = dep_replicas(dep) - max_unavailable(dep)
    new_unavailable = rs_size(new) - rs_count(new, "availableReplicas")
    room = sum(rs_size(rs) for rs in [new, *olds]) - min_available - new_unavailable
    if room <= 0:
        return False, olds
    olds = sorted(olds, key=rs_created)
    scaled_down = 0
    for i, rs in enumerate(olds):  # cleanupUnhealthyReplicas
        unhealthy = rs_size(rs) - rs_count(rs, "availableReplicas")
        if scaled_down >= room or not rs_size(rs) or unhealthy <= 0:
            continue
        down = min(room - scaled_down, unhealthy)
        olds[i] = scale_rs(ctl, dep, rs, rs_size(rs) - down)[1]
        scaled_down += down
    available = sum(rs_count(rs, "availableReplicas") for rs in [new, *olds])
    allowed = available - min_available  # scaleDownOldReplicaSetsForRollingUpdate
    done = 0
    for i, rs in enumerate(olds):
        if done >= allowed or not rs_size(rs):
            continue
        down = min(rs_size(rs), allowed - done)
        olds[i] = scale_rs(ctl, dep, rs, rs_size(rs) - down)[1]
        done += down
    return scaled_down + max(done, 0) > 0, olds


def scaling_event(dep: dict[str, Any], new: dict[str, Any] | None, olds: list[dict[str, Any]]) -> bool:
    """``isScalingEvent``: an active ReplicaSet was sized for another ``spec.replicas``."""
    if new is None:
        return False
    for rs in [new, *olds]:
        value = (rs["metadata"].get("annotations") or {}).get(DESIRED)
        if rs_size(rs) and value is not None and str(value).isdigit() and int(value) != dep_replicas(dep):
            return True
    return False


def scale_deployment(
    ctl: ControllerHost, dep: dict[str, Any], new: dict[str, Any] | None, olds: list[dict[str, Any]]
) -> None:
    """``scale``: a new ``spec.replicas`` goes to the one active ReplicaSet, or proportionally to all."""
    desired = dep_replicas(dep)
    active = [rs for rs in [new, *olds] if rs is not None and rs_size(rs)]
    if len(active) <= 1:
        target = active[0] if active else new or max(olds, key=rs_created, default=None)
        if target is not None and rs_size(target) != desired:
            scale_rs(ctl, dep, target, desired)
        return
    if (
        new is not None
        and (new["metadata"].get("annotations") or {}).get(DESIRED) == str(desired)
        and rs_size(new) == desired
        and rs_count(new, "availableReplicas") == desired
    ):
        for rs in olds:
            if rs_size(rs):
                scale_rs(ctl, dep, rs, 0)
        return
    if not is_rolling(dep):
        return
    allowed = desired + max_surge(dep) if desired > 0 else 0
    to_add = allowed - sum(rs_size(rs) for rs in active)
    if to_add > 0:  # larger first; newer first when growing, older first when shrinking
        active.sort(key=rs_created, reverse=True)
        active.sort(key=rs_size, reverse=True)
    else:
        active.sort(key=rs_created)
        active.sort(key=rs_size, reverse=True)
    sizes, added = {}, 0
    for rs in active:
        proportion = _proportion(dep, rs, to_add, added) if to_add else 0
        sizes[rs["metadata"]["uid"]] = rs_size(rs) + proportion
        added += proportion
    for i, rs in enumerate(active):
        size = sizes[rs["metadata"]["uid"]]
        if i == 0 and to_add:
            size = max(0, size + to_add - added)
        scale_rs(ctl, dep, rs, size, annotate=True)


def _proportion(dep: dict[str, Any], rs: dict[str, Any], to_add: int, added: int) -> int:
    """``GetProportion``: this ReplicaSet's share of the replicas being added (or removed)."""
    if not rs_size(rs) or to_add == added:
        return 0
    if dep_replicas(dep) == 0:
        fraction = -rs_size(rs)
    else:
        value = (rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS)
        fallback = int((dep.get("status") or {}).get("replicas", 0))
        annotated = int(str(value)) if str(value).isdigit() else fallback
        exact = rs_size(rs) * (dep_replicas(dep) + max_surge(dep)) / max(annotated, 1)
        fraction = int(exact + 0.5) - rs_size(rs)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)
