"""The disruption controller: the ``status`` of every PodDisruptionBudget, from the pods it selects.

As kube-controller-manager computes it: ``expectedPods`` is the number of selected pods when
``minAvailable`` is an integer, else the summed scale of their controllers (a Deployment through its
ReplicaSet, a ReplicaSet, a StatefulSet); ``desiredHealthy`` is ``minAvailable`` (a percentage
rounded up) or ``expectedPods - maxUnavailable``; ``currentHealthy`` counts Ready pods that are not
being deleted; ``disruptionsAllowed`` is their difference (0 when negative or nothing is expected),
with the ``DisruptionAllowed`` condition (``SufficientPods`` / ``InsufficientPods``, or ``SyncFailed``
when a selected pod has no controller with a scale). Budgets are recomputed when pods, workloads or
budgets changed since the last sync, not on every request.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox import podstatus
from sandbox.host import ControllerHost
from sandbox.resources import of_kind
from sandbox.rollouts import controller_of
from sandbox.selectors import selector_matches
from sandbox.store import clone
from sandbox.units import rfc3339

PDB, POD = of_kind("PodDisruptionBudget"), of_kind("Pod")
_WATCHED = ("Pod", "PodDisruptionBudget", "ReplicaSet", "Deployment", "StatefulSet")


class _SyncFailed(Exception):
    pass


def _scaled(value: Any, total: int) -> int:
    """An IntOrString against ``total``: ``2`` -> 2, ``"50%"`` -> ceil(total / 2)."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


class DisruptionController:
    """Keeps PodDisruptionBudget status current; callers hold ``store.lock``."""

    def __init__(self, controllers: ControllerHost) -> None:
        self.store = controllers.store
        self._seen = -1

    def _changed(self) -> bool:
        version = int(self.store.resource_version)
        if version == self._seen:
            return False
        last, self._seen = self._seen, version
        if last < 0 or last < self.store.oldest_resource_version - 1:
            return True
        return any(self.store.changes_since(last, kind) for kind in _WATCHED)

    def sync(self) -> None:
        """Recompute every budget's status if anything it depends on changed."""
        if not self._changed():
            return
        now = rfc3339(self.store.clock.time())
        budgets = self.store.items(PDB)
        wanted: dict[str, list[dict[str, Any]]] = {}
        for pdb in budgets:
            if (pdb.get("spec") or {}).get("selector") is not None:
                wanted.setdefault(pdb["metadata"]["namespace"], []).append(pdb["spec"]["selector"])

        def selected(pod: dict[str, Any]) -> bool:
            labels = pod["metadata"].get("labels")
            return any(selector_matches(s, labels) for s in wanted.get(pod["metadata"]["namespace"], []))

        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for pod in self.store.items(POD, keep=selected) if budgets else []:  # one copy of each selected pod
            by_namespace.setdefault(pod["metadata"]["namespace"], []).append(pod)
        for pdb in budgets:
            status = self._status(pdb, by_namespace.get(pdb["metadata"]["namespace"], []), now)
            if status != pdb.get("status"):
                pdb["status"] = status
                self.store.update(PDB, pdb)
        self._seen = int(self.store.resource_version)

    def _expected_scale(self, pods: list[dict[str, Any]]) -> int:
        scales: dict[str, int] = {}
        for pod in pods:
            ref = controller_of(pod)
            owner = self._owner(pod["metadata"]["namespace"], ref)
            if owner is None:
                raise _SyncFailed(f'found no controllers for pod "{pod["metadata"]["name"]}"')
            scales[owner["metadata"]["uid"]] = int((owner.get("spec") or {}).get("replicas", 1))
        return sum(scales.values())

    def _owner(self, namespace: str, ref: dict[str, Any] | None) -> dict[str, Any] | None:
        if ref is None or ref.get("kind") not in ("ReplicaSet", "StatefulSet"):
            return None
        owner = self.store.get(of_kind(ref["kind"]), namespace, ref["name"])
        if owner is None or owner["metadata"]["uid"] != ref.get("uid"):
            return None
        parent = controller_of(owner)
        if ref["kind"] == "ReplicaSet" and parent is not None and parent.get("kind") == "Deployment":
            deployment = self.store.get(of_kind("Deployment"), namespace, parent["name"])
            if deployment is not None and deployment["metadata"]["uid"] == parent.get("uid"):
                return deployment
        return owner

    def _status(self, pdb: dict[str, Any], candidates: list[dict[str, Any]], now: str) -> dict[str, Any]:
        spec = pdb.get("spec") or {}
        selector = spec.get("selector")
        selected = [] if selector is None else [
            p for p in candidates if selector_matches(selector, p["metadata"].get("labels"))
        ]  # fmt: skip
        pods = [podstatus.view(self.store, POD, p) for p in selected]
        healthy = sum(
            1
            for p in pods
            if not p["metadata"].get("deletionTimestamp")
            and any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        )
        generation = pdb["metadata"].get("generation", 1)
        try:
            if spec.get("maxUnavailable") is not None:
                expected = self._expected_scale(pods)
                desired = max(0, expected - _scaled(spec["maxUnavailable"], expected))
            elif isinstance(spec.get("minAvailable"), str):
                expected = self._expected_scale(pods)
                desired = _scaled(spec["minAvailable"], expected)
            else:
                expected, desired = len(pods), int(spec.get("minAvailable") or 0)
        except _SyncFailed as failure:
            status = {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0,
                      "observedGeneration": generation}  # fmt: skip
            return self._with_condition(pdb, status, False, "SyncFailed", str(failure), now)
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        status = {
            "disruptionsAllowed": allowed,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "observedGeneration": generation,
        }
        reason = "SufficientPods" if allowed > 0 else "InsufficientPods"
        return self._with_condition(pdb, status, allowed > 0, reason, "", now)

    @staticmethod
    def _with_condition(
        pdb: dict[str, Any], status: dict[str, Any], ok: bool, reason: str, message: str, now: str
    ) -> dict[str, Any]:
        text = "True" if ok else "False"
        previous = next(
            (
                c
                for c in (pdb.get("status") or {}).get("conditions") or []
                if c.get("type") == "DisruptionAllowed"
            ),
            None,
        )
        since = previous["lastTransitionTime"] if previous and previous.get("status") == text else now
        status["conditions"] = [{
            "type": "DisruptionAllowed", "status": text, "reason": reason, "message": message,
            "lastTransitionTime": since, "observedGeneration": status["observedGeneration"],
        }]  # fmt: skip
        return clone(status)
