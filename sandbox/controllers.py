"""The controllers a real cluster runs, done synchronously on each write.

- Deployment: a changed pod template gets a new ReplicaSet (or, on rollback, the old one whose
  template matches) with the next revision; the others are scaled to 0; status is recomputed.
- ReplicaSet: keeps ``spec.replicas`` pods, so a deleted pod is replaced (new random suffix).
- Garbage collection: deleting an owner deletes what it owns (unless ``propagationPolicy=Orphan``).
New pods get their behaviour from the scenario's outcomes, evaluated against the pod template.
"""

from __future__ import annotations

import functools
import logging
import random
from typing import Any

from sandbox import aggregation, disruption, hpa, outcomes, podstatus, rollouts
from sandbox.defaults import default_pod_spec
from sandbox.resources import RESOURCES, ResourceType, of_kind
from sandbox.rollouts import controller_of, owner_ref, revision
from sandbox.store import ObjectStore, clone
from sandbox.units import normalize, rfc3339

log = logging.getLogger(__name__)
POD, EVENT, NODE = of_kind("Pod"), of_kind("Event"), of_kind("Node")
RS, CONFIGMAP = of_kind("ReplicaSet"), of_kind("ConfigMap")
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _suffix(rng: random.Random, length: int = 5) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


class Controllers:
    """Reconciles workloads in ``store`` after each write; callers hold ``store.lock``."""

    def __init__(
        self, store: ObjectStore, scenario_data: dict[str, Any], rng: random.Random | None = None
    ) -> None:
        self.store = store
        self.scenario = scenario_data
        self.rng = rng or random.Random()
        self._ip = 10

    # --- events -------------------------------------------------------------------------------
    def emit(self, event: dict[str, Any], behaviour: Any = None, per_restart: int = 0) -> None:
        now = rfc3339(self.store.clock.time())
        event.setdefault("firstTimestamp", now)
        event.setdefault("lastTimestamp", now)
        stored = self.store.create(EVENT, self.store.stamp(event, EVENT))
        if behaviour is not None and per_restart:
            self.store.event_growth[self.store.key(stored)] = (behaviour, per_restart)

    def object_event(self, obj: dict[str, Any], reason: str, message: str, component: str) -> None:
        meta = obj["metadata"]
        self.emit({
            "metadata": {"name": f"{meta['name']}.{self.rng.getrandbits(64):016x}",
                         "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"],
                               "resourceVersion": meta.get("resourceVersion", "")},
            "reason": reason, "message": message, "type": "Normal", "count": 1,
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": "",
        })  # fmt: skip

    # --- pods ---------------------------------------------------------------------------------
    def _pick_node(self) -> dict[str, Any] | None:
        nodes = self.store.items(NODE)
        if not nodes:
            return None
        load = {n["metadata"]["name"]: 0 for n in nodes}
        for pod in self.store.items(POD):
            node = (pod.get("spec") or {}).get("nodeName")
            if node in load:
                load[node] += 1
        return min(nodes, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))

    def admit_pod(self, pod: dict[str, Any]) -> dict[str, Any]:
        """Default, schedule and address a pod that is about to be created."""
        pod = clone(pod)
        pod["spec"] = default_pod_spec(pod.get("spec") or {})
        node = None
        if not pod["spec"].get("nodeName"):
            node = self._pick_node()
            if node is not None:
                pod["spec"]["nodeName"] = node["metadata"]["name"]
        else:
            node = self.store.get(NODE, "", pod["spec"]["nodeName"])
        addresses = ((node or {}).get("status") or {}).get("addresses") or []
        host_ip = next((a["address"] for a in addresses if a.get("type") == "InternalIP"), "10.0.0.10")
        self._ip += 1
        pod_ip = f"10.244.{self._ip // 250}.{self._ip % 250 + 2}"
        pod["status"] = {
            "phase": "Pending",
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": rfc3339(self.store.clock.time()),
            "qosClass": podstatus.qos_class(pod["spec"]),
        }
        return pod

    def pod_started(self, pod: dict[str, Any], behaviour: outcomes.PodBehaviour | None = None) -> None:
        """Register a stored pod's behaviour (running unless given) and emit its lifecycle events."""
        behaviour = behaviour or outcomes.PodBehaviour(
            restart_period_s=float(self.scenario.get("restart_period_s", outcomes.DEFAULT_RESTART_PERIOD_S))
        )
        behaviour.started = self.store.clock.time()
        self.store.behaviours[pod["metadata"]["uid"]] = behaviour
        for event, per_restart in podstatus.pod_events(pod, behaviour):
            self.emit(event, behaviour, per_restart)

    def _behaviour(self, rs: dict[str, Any], spec: dict[str, Any]) -> outcomes.PodBehaviour:
        owner = controller_of(rs)
        namespace = rs["metadata"]["namespace"]
        deployment = f"{namespace}/{owner['name']}" if owner and owner.get("kind") == "Deployment" else None
        b = outcomes.behaviour_for(
            self.scenario,
            deployment,
            spec,
            revision(rs),
            lambda name: self.store.get(CONFIGMAP, namespace, name) is not None,
        )
        b.ready_delay_s = rollouts.ready_delay(self, rs)  # a progressive rollout's pods turn Ready late
        if b.state == "config_error" and not b.message:
            container: dict[str, Any] = next(
                (c for c in spec.get("containers", []) if c["name"] == b.container), {}
            )
            missing = [
                n
                for n in outcomes.referenced_configmaps(container, spec)
                if self.store.get(CONFIGMAP, namespace, n) is None
            ]
            b.message = f'configmap "{missing[0] if missing else "config"}" not found'
        return b

    def create_pod(self, rs: dict[str, Any]) -> dict[str, Any]:
        template = rs["spec"]["template"]
        name = f"{rs['metadata']['name']}-{_suffix(self.rng)}"
        meta = normalize(template.get("metadata") or {})
        meta.update(
            name=name,
            namespace=rs["metadata"]["namespace"],
            generateName=f"{rs['metadata']['name']}-",
            ownerReferences=[owner_ref(rs)],
        )
        pod = self.admit_pod({"metadata": meta, "spec": template.get("spec") or {}})
        stored = self.store.create(POD, self.store.stamp(pod, POD))
        self.pod_started(stored, self._behaviour(rs, stored["spec"]))
        self.object_event(rs, "SuccessfulCreate", f"Created pod: {name}", "replicaset-controller")
        return stored

    def remove_pod(self, pod: dict[str, Any]) -> dict[str, Any] | None:
        """Delete a pod without replacing it (scale-down, cascade); freezes its restart count."""
        behaviour = self.store.behaviours.get(pod["metadata"]["uid"])
        if behaviour is not None:
            behaviour.deleted = self.store.clock.time()
        return self.store.delete(POD, *self.store.key(pod))

    def pod_ready(self, pod: dict[str, Any]) -> bool:
        statuses = (podstatus.view(self.store, POD, pod).get("status") or {}).get("containerStatuses") or []
        return bool(statuses) and all(c.get("ready") for c in statuses)

    # --- replica sets -------------------------------------------------------------------------
    def reconcile_replicaset(self, rs: dict[str, Any]) -> dict[str, Any]:
        """Create or delete pods until ``spec.replicas`` run, then refresh the RS status."""
        desired = rs["spec"].get("replicas", 1)
        pods = [p for p in self.store.owned_by(POD, rs) if not p["metadata"].get("deletionTimestamp")]
        for _ in range(desired - len(pods)):
            pods.append(self.create_pod(rs))
        if len(pods) > desired:
            doomed = sorted(pods, key=lambda p: (self.pod_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - desired]:
                self.remove_pod(pod)
                self.object_event(
                    rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", "replicaset-controller"
                )
                pods.remove(pod)
        ready = sum(self.pod_ready(p) for p in pods)
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        current = self.store.get(RS, *self.store.key(rs)) or rs
        if current.get("status") != status:
            current["status"] = status
            current = self.store.update(RS, current)
        return current

    def _owner(self, obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") != kind:
            return None
        owner = self.store.get(of_kind(kind), obj["metadata"]["namespace"], ref["name"])
        return owner if owner is not None and owner["metadata"]["uid"] == ref.get("uid") else None

    def _refresh_owners(self, rs: dict[str, Any]) -> None:
        dep = self._owner(rs, "Deployment")
        if dep is not None:
            rollouts.update_status(self, dep, None)

    # --- hooks the API calls after each write -------------------------------------------------
    def created(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.kind == "Pod":
            self.pod_started(obj)
        elif rtype.kind == "Deployment":
            rollouts.reconcile(self, obj)
        elif rtype.kind == "ReplicaSet":
            self._refresh_owners(self.reconcile_replicaset(obj))

    def updated(self, rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("spec") == new.get("spec"):
            return
        if rtype.kind == "Deployment":
            rollouts.reconcile(self, new)
        elif rtype.kind == "ReplicaSet":
            self._refresh_owners(self.reconcile_replicaset(new))

    def deleted(self, rtype: ResourceType, obj: dict[str, Any], propagation: str | None) -> None:
        """Replace a ReplicaSet's deleted pod, and delete what the object owned (unless Orphan)."""
        if rtype.kind == "Pod":
            behaviour = self.store.behaviours.get(obj["metadata"]["uid"])
            if behaviour is not None:
                behaviour.deleted = self.store.clock.time()
            rs = self._owner(obj, "ReplicaSet")
            if rs is not None:
                self._refresh_owners(self.reconcile_replicaset(rs))
            return
        if propagation != "Orphan":
            self.collect_garbage(rtype, obj)
        if rtype.kind == "ReplicaSet":
            dep = self._owner(obj, "Deployment")
            if dep is not None:
                rollouts.reconcile(self, dep)

    def collect_garbage(self, rtype: ResourceType, owner: dict[str, Any]) -> None:
        """Delete everything ``owner`` owns, depth first; a Namespace owns all objects in it."""
        if rtype.kind == "Namespace":
            name = owner["metadata"]["name"]
            for kind in RESOURCES:
                if kind.namespaced:
                    for obj in self.store.items(kind, name):
                        self._drop(kind, obj)
            return
        for kind in RESOURCES:
            if kind.namespaced and rtype.namespaced:
                for obj in self.store.owned_by(kind, owner):
                    self.collect_garbage(kind, obj)
                    self._drop(kind, obj)

    def _drop(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.kind == "Pod":
            self.remove_pod(obj)
        else:
            self.store.delete(rtype, *self.store.key(obj))

    # --- controllers driven by the clock, not by a write: HPA (sandbox/hpa.py), PodDisruptionBudget
    # status (sandbox/disruption.py), ClusterRole aggregation (sandbox/aggregation.py) --------------
    @functools.cached_property
    def timed(self) -> list[Any]:
        return [
            rollouts.ProgressController(self),  # progressive rollouts move on with the clock
            hpa.HorizontalController(self),
            disruption.DisruptionController(self),
            aggregation.AggregationController(self),
        ]

    def sync(self) -> None:
        """Run the clock-driven controllers; the API calls this before it serves each request.

        A failure is logged and leaves the API serving, as a crashed controller leaves an API server.
        """
        for controller in self.timed:
            try:
                controller.sync()
            except Exception:
                log.exception("sandbox %s failed", type(controller).__name__)
