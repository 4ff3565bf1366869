"""Capacity in requests, not usage: can the cluster place maxReplicas with one node lost (N−1)?

As kubernetes-mixin's KubeCPUOvercommit, the free capacity is the allocatable of all schedulable
ready nodes minus the largest node, minus what the other pods already request. The check is on
totals (no bin packing); a shortfall says how many replicas, cores and bytes are missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Node:
    name: str
    cpu_cores: float
    memory_bytes: float
    schedulable: bool = True


@dataclass(frozen=True)
class Capacity:
    fits: bool
    wanted_replicas: int
    placeable_replicas: int
    nodes: int
    free_cpu_cores: float
    free_memory_bytes: float
    shortfall: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def placeable(
    nodes: list[Node],
    other_cpu_cores: float,
    other_memory_bytes: float,
    cpu_request_cores: float,
    memory_request_bytes: float,
) -> tuple[int, float, float, list[str]]:
    """(replicas that fit with N−1, free cores, free bytes, notes); the requests of the workload's own
    pods are not in ``other_*``: they are what is being placed."""
    usable = [node for node in nodes if node.schedulable]
    notes = []
    if len(usable) < len(nodes):
        notes.append(f"{len(nodes) - len(usable)} node(s) unschedulable or not ready are not counted")
    if not usable:
        return 0, 0.0, 0.0, [*notes, "no schedulable node"]
    cpu = sum(n.cpu_cores for n in usable) - max(n.cpu_cores for n in usable) - other_cpu_cores
    memory = sum(n.memory_bytes for n in usable) - max(n.memory_bytes for n in usable) - other_memory_bytes
    if len(usable) == 1:
        notes.append("one schedulable node: losing it leaves nothing (N−1 is 0)")
    cpu, memory = max(cpu, 0.0), max(memory, 0.0)
    counts = [math.floor(cpu / cpu_request_cores + 1e-9)] if cpu_request_cores > 0 else []
    if memory_request_bytes > 0:
        counts.append(math.floor(memory / memory_request_bytes + 1e-9))
    return (min(counts) if counts else 0), cpu, memory, notes


def check(
    wanted: int,
    nodes: list[Node],
    other_cpu_cores: float,
    other_memory_bytes: float,
    cpu_request_cores: float,
    memory_request_bytes: float,
) -> Capacity:
    """Whether ``wanted`` replicas fit with one node lost, and by how much capacity falls short."""
    count, cpu, memory, notes = placeable(
        nodes, other_cpu_cores, other_memory_bytes, cpu_request_cores, memory_request_bytes
    )
    shortfall = None
    if count < wanted:
        missing_cpu = max(0.0, wanted * cpu_request_cores - cpu)
        missing_memory = max(0.0, wanted * memory_request_bytes - memory)
        shortfall = {
            "replicas": wanted - count,
            "cpu_cores": round(missing_cpu, 3),
            "memory_bytes": int(missing_memory),
            "detail": f"the cluster can place {count} of {wanted} replicas with one node lost; "
            f"{round(missing_cpu, 3)} CPU cores and {int(missing_memory)} bytes of memory short: "
            "nodes are needed to go higher",
        }
    return Capacity(
        fits=shortfall is None,
        wanted_replicas=wanted,
        placeable_replicas=count,
        nodes=len(nodes),
        free_cpu_cores=round(cpu, 3),
        free_memory_bytes=int(memory),
        shortfall=shortfall,
        notes=notes,
    )
