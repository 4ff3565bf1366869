"""Replay the workload's CPU history through the HPA algorithm: how many replicas it would have run.

Every ``sync_s`` (15 s) the replayed controller computes ``ceil(replicas × usage / target)`` with the
0.1 tolerance, keeps the highest recommendation of the last 300 s before scaling down (the default
scale-down stabilization), limits a scale-up to max(4 pods, 100 %) per 15 s (autoscaling/v2's
default ``scaleUp`` policies), and clamps to [min, max]. Demand is the workload's total CPU use, so
per-pod use falls as replicas rise, as it does for a load spread by a Service.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from workers.workflows.scaling.recommend import TOLERANCE

SYNC_S = 15
SCALE_DOWN_STABILIZATION_S = 300
SCALE_UP_PODS, SCALE_UP_PERCENT, SCALE_UP_PERIOD_S = 4, 100, 15


@dataclass
class Hour:
    start: float
    peak_demand_cores: float
    replicas_min: int
    replicas_max: int
    replica_seconds: float
    seconds: float
    peak_utilization: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "peak_demand_cores": round(self.peak_demand_cores, 3),
            "replicas_min": self.replicas_min,
            "replicas_max": self.replicas_max,
            "replicas_avg": round(self.replica_seconds / self.seconds, 2) if self.seconds else None,
            "peak_utilization": round(self.peak_utilization, 3),
        }


def _scale_up_limit(replicas: int) -> int:
    return max(replicas + SCALE_UP_PODS, math.ceil(replicas * (1 + SCALE_UP_PERCENT / 100)))


def replay(
    samples: list[tuple[float, float]],
    cpu_request_cores: float,
    target: float,
    minimum: int,
    maximum: int,
    start_replicas: int | None = None,
    sync_s: int = SYNC_S,
) -> dict[str, Any]:
    """``samples``: (unix time, total CPU cores of the workload), ascending. Returns hours and totals."""
    replicas = max(minimum, min(maximum, start_replicas or minimum))
    recent: deque[tuple[float, int]] = deque()
    hours: dict[int, Hour] = {}
    at_max_s = 0.0
    over_target_s = 0.0
    for index, (start, demand) in enumerate(samples):
        end = samples[index + 1][0] if index + 1 < len(samples) else start + sync_s
        t = start
        while t < end:
            utilization = demand / (replicas * cpu_request_cores) if replicas else 0.0
            ratio = utilization / target
            wanted = replicas if abs(ratio - 1.0) <= TOLERANCE else math.ceil(replicas * ratio)
            wanted = max(minimum, min(maximum, wanted))
            recent.append((t, wanted))
            while recent and recent[0][0] < t - SCALE_DOWN_STABILIZATION_S:
                recent.popleft()
            if wanted < replicas:
                wanted = min(replicas, max(value for _, value in recent))
            elif wanted > replicas:
                wanted = min(wanted, _scale_up_limit(replicas))
            replicas = max(minimum, min(maximum, wanted))
            step = min(sync_s, end - t)
            after = demand / (replicas * cpu_request_cores)
            hour = hours.setdefault(
                int(t // 3600), Hour(int(t // 3600) * 3600.0, 0.0, replicas, replicas, 0.0, 0.0, 0.0)
            )
            hour.peak_demand_cores = max(hour.peak_demand_cores, demand)
            hour.replicas_min, hour.replicas_max = (
                min(hour.replicas_min, replicas),
                max(hour.replicas_max, replicas),
            )
            hour.replica_seconds += replicas * step
            hour.seconds += step
            hour.peak_utilization = max(hour.peak_utilization, after)
            at_max_s += step if replicas == maximum else 0.0
            over_target_s += step if after > target * (1 + TOLERANCE) else 0.0
            t += step
    total_s = sum(hour.seconds for hour in hours.values())
    replica_hours = sum(hour.replica_seconds for hour in hours.values()) / 3600
    return {
        "sync_s": sync_s,
        "scale_down_stabilization_s": SCALE_DOWN_STABILIZATION_S,
        "hours": [hours[key].to_dict() for key in sorted(hours)],
        "covered_s": round(total_s),
        "replica_hours": round(replica_hours, 2),
        "average_replicas": round(replica_hours * 3600 / total_s, 2) if total_s else None,
        "peak_replicas": max((hour.replicas_max for hour in hours.values()), default=None),
        "share_at_max": round(at_max_s / total_s, 4) if total_s else None,
        "share_over_target": round(over_target_s / total_s, 4) if total_s else None,
    }
