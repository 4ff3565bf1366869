"""Fixed total load: a workload's CPU is shared by its ready pods, so per-pod CPU falls as it scales out.

A Deployment annotated ``sandbox.aiops.dev/total-cpu-millicores: "1800"`` serves a fixed total CPU
load: each of its Ready pods uses ``total / ready pods`` in its first container. The resource metrics
the HPA controller reads and the cAdvisor counters on ``/metrics`` both come from here, so a real
Prometheus scraping the sandbox computes the per-pod rate the HPA acts on. Each pod's counter is the
integral of its share since it started: replica changes take effect at the pods' own start and end
times; a change of the annotation (or of a pod's readiness) takes effect when the model next looks,
which is every scrape and every HPA sync.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from typing import Any

from sandbox import podstatus
from sandbox.resources import of_kind
from sandbox.rollouts import controller_of
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity, parse_time

TOTAL_CPU = "sandbox.aiops.dev/total-cpu-millicores"
"""Deployment annotation: the workload's total CPU in millicores, shared by its ready pods."""
DEPLOYMENT, RS, POD = of_kind("Deployment"), of_kind("ReplicaSet"), of_kind("Pod")


@dataclass
class _Member:
    """One pod of a fixed-load workload."""

    start: float
    container: str
    serving: bool
    end: float | None = None
    seconds: float = 0.0
    """CPU seconds used up to the workload's ``upto``."""


@dataclass
class _Workload:
    total: float
    """Cores, as of ``upto``."""
    upto: float | None = None
    members: dict[str, _Member] = field(default_factory=dict)

    def serving_count(self) -> int:
        return sum(1 for m in self.members.values() if m.serving and m.end is None)


def total_cores(deployment: dict[str, Any]) -> float | None:
    """The Deployment's fixed total CPU in cores, or None when it has none (or a malformed one)."""
    value = (deployment["metadata"].get("annotations") or {}).get(TOTAL_CPU)
    if value is None:
        return None
    try:
        millicores = parse_quantity(str(value).strip())
    except ValueError:
        return None
    return millicores / 1000 if millicores >= 0 else None


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class LoadModel:
    """The per-pod shares and integrated CPU seconds of every fixed-load workload in one store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._workloads: dict[str, _Workload] = {}
        self._pods: dict[str, str] = {}
        """Pod uid -> workload (Deployment uid)."""
        self._seen: tuple[str, float] | None = None

    def _start_of(self, pod: dict[str, Any]) -> float:
        behaviour = self.store.behaviours.get(pod["metadata"].get("uid", ""))
        if behaviour is not None:
            return float(behaviour.started)
        started = (pod.get("status") or {}).get("startTime") or pod["metadata"]["creationTimestamp"]
        return parse_time(started)

    def refresh(self) -> None:
        """Catch up with the store and the clock (cheap when neither moved since the last call)."""
        with self.store.lock:
            now = self.store.clock.time()
            seen = (self.store.resource_version, now)
            if seen == self._seen:
                return
            self._seen = seen
            deployments = {
                d["metadata"]["uid"]: d
                for d in self.store.items(
                    DEPLOYMENT, keep=lambda d: TOTAL_CPU in (d["metadata"].get("annotations") or {})
                )
            }
            if not deployments and not self._workloads:
                return
            owners = {
                rs["metadata"]["uid"]: (controller_of(rs) or {}).get("uid", "")
                for rs in self.store.items(
                    RS, keep=lambda rs: (controller_of(rs) or {}).get("uid") in deployments
                )
            }
            pods: dict[str, list[dict[str, Any]]] = {uid: [] for uid in deployments}
            for pod in self.store.items(POD, keep=lambda p: (controller_of(p) or {}).get("uid") in owners):
                pods[owners[(controller_of(pod) or {})["uid"]]].append(podstatus.view(self.store, POD, pod))
            for uid in list(self._workloads):
                if uid not in deployments:
                    self._forget(uid)
            for uid, dep in deployments.items():
                self._observe(uid, total_cores(dep), pods[uid], now)

    def _forget(self, workload: str) -> None:
        for pod_uid in self._workloads.pop(workload).members:
            self._pods.pop(pod_uid, None)

    def _observe(self, uid: str, total: float | None, pods: list[dict[str, Any]], now: float) -> None:
        if total is None:
            if uid in self._workloads:
                self._forget(uid)
            return
        workload = self._workloads.setdefault(uid, _Workload(total))
        present = set()
        for pod in pods:
            pod_uid = pod["metadata"]["uid"]
            present.add(pod_uid)
            member = workload.members.get(pod_uid)
            if member is None:
                containers = (pod.get("spec") or {}).get("containers") or [{"name": ""}]
                workload.members[pod_uid] = _Member(self._start_of(pod), containers[0]["name"], _ready(pod))
                self._pods[pod_uid] = uid
        for pod_uid, member in workload.members.items():
            if pod_uid not in present and member.end is None:
                behaviour = self.store.behaviours.get(pod_uid)
                gone = behaviour.deleted if behaviour is not None and behaviour.deleted is not None else now
                member.end = min(gone, now)
        self._integrate(workload, now)
        workload.total = total
        for pod in pods:
            workload.members[pod["metadata"]["uid"]].serving = _ready(pod)
        for pod_uid in [p for p, m in workload.members.items() if m.end is not None and m.end <= now]:
            del workload.members[pod_uid]
            self._pods.pop(pod_uid, None)

    @staticmethod
    def _integrate(workload: _Workload, now: float) -> None:
        """Add each serving member's share of the total over (upto, now], piece by piece."""
        members = [m for m in workload.members.values() if m.serving]
        begin = workload.upto if workload.upto is not None else min((m.start for m in members), default=now)
        workload.upto = now
        cuts = sorted(
            {begin, now, *(t for m in members for t in (m.start, m.end) if t is not None and begin < t < now)}
        )
        for t0, t1 in itertools.pairwise(cuts):
            active = [m for m in members if m.start <= t0 and (m.end is None or m.end >= t1)]
            for m in active:
                m.seconds += workload.total / len(active) * (t1 - t0)

    def _member(self, pod_uid: str, container: str) -> tuple[_Workload, _Member] | None:
        self.refresh()
        workload = self._workloads.get(self._pods.get(pod_uid, ""))
        member = workload.members.get(pod_uid) if workload is not None else None
        if workload is None or member is None or not member.serving or member.container != container:
            return None
        return workload, member

    def share(self, pod_uid: str, container: str) -> float | None:
        """The container's CPU now, in cores, when its pod serves a fixed-load workload (else None)."""
        found = self._member(pod_uid, container)
        if found is None:
            return None
        workload, _ = found
        return workload.total / max(workload.serving_count(), 1)

    def cpu_seconds(self, pod_uid: str, container: str) -> float | None:
        """The container's cumulative CPU seconds when its pod serves a fixed-load workload (else None)."""
        found = self._member(pod_uid, container)
        return found[1].seconds if found is not None else None


_MODELS: weakref.WeakKeyDictionary[ObjectStore, LoadModel] = weakref.WeakKeyDictionary()


def model(store: ObjectStore) -> LoadModel:
    """The load model of ``store`` (one per store, created on first use)."""
    with store.lock:
        found = _MODELS.get(store)
        if found is None:
            found = _MODELS[store] = LoadModel(store)
        return found
