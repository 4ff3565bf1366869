"""The HPA recommendation: target, minReplicas, desired replicas now, and maxReplicas from the peak.

``minReplicas`` is the current replica count (never lower: the workload already needs it); the
desired count follows the HPA formula ``ceil(current × usage / target)`` with its 0.1 tolerance;
``maxReplicas`` covers the week's peak demand (or the longest window available) at the target, plus
headroom, and is bounded by what the cluster can place with one node lost (``capacity``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TOLERANCE = 0.1
"""kube-controller-manager's ``--horizontal-pod-autoscaler-tolerance`` default."""


@dataclass(frozen=True)
class Load:
    """What the recommendation is computed from (per-pod figures are averages over ready pods)."""

    current_replicas: int
    cpu_request_cores: float
    """CPU request of one pod (all its containers)."""
    memory_request_bytes: float
    """Memory request of one pod (all its containers)."""
    usage_5m_cores: float | None
    """Average CPU use of one pod over the last 5 minutes."""
    peak_total_cores: float | None
    """The workload's highest total CPU use over the history window."""
    window_s: int = 0
    """How much history ``peak_total_cores`` covers."""


@dataclass(frozen=True)
class Recommendation:
    target_utilization: float
    min_replicas: int
    desired_replicas: int
    max_replicas: int
    unbounded_max_replicas: int
    """maxReplicas before the capacity bound."""
    utilization_now: float | None
    peak_utilization_at_current: float | None
    bounded_by_capacity: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hpa_desired(current: int, utilization: float, target: float, tolerance: float = TOLERANCE) -> int:
    """The HPA's replica count for ``utilization`` (usage / request) against ``target``."""
    if current <= 0:
        return current
    ratio = utilization / target
    if abs(ratio - 1.0) <= tolerance:
        return current
    return math.ceil(current * ratio)


def replicas_for(total_cores: float, cpu_request_cores: float, target: float, headroom: float) -> int:
    """Pods needed to run ``total_cores`` at ``target`` utilization, with ``headroom`` on top."""
    return math.ceil(total_cores * (1.0 + headroom) / (cpu_request_cores * target) - 1e-9)


def recommend(load: Load, target: float, headroom: float, placeable: int | None) -> Recommendation:
    """The recommendation; ``placeable`` is the most replicas the cluster can hold (None: unknown)."""
    if load.cpu_request_cores <= 0:
        raise ValueError("the workload has no CPU requests: an HPA on CPU utilization cannot work")
    current = max(1, load.current_replicas)
    utilization = load.usage_5m_cores / load.cpu_request_cores if load.usage_5m_cores is not None else None
    desired = hpa_desired(current, utilization, target) if utilization is not None else current
    desired = max(current, desired)
    peak_total = load.peak_total_cores
    if peak_total is None and load.usage_5m_cores is not None:
        peak_total = load.usage_5m_cores * current
    from_peak = replicas_for(peak_total, load.cpu_request_cores, target, headroom) if peak_total else 0
    unbounded = max(current + 1, desired, from_peak)
    maximum = unbounded
    bounded = False
    if placeable is not None and placeable < unbounded:
        maximum, bounded = max(current, placeable), True
    peak_util = peak_total / (current * load.cpu_request_cores) if peak_total is not None else None
    return Recommendation(
        target_utilization=target,
        min_replicas=current,
        desired_replicas=min(desired, maximum),
        max_replicas=maximum,
        unbounded_max_replicas=unbounded,
        utilization_now=round(utilization, 4) if utilization is not None else None,
        peak_utilization_at_current=round(peak_util, 4) if peak_util is not None else None,
        bounded_by_capacity=bounded,
    )
