"""The cost model every workflow prices requests with: vCPU-hours and GiB-hours (OpenCost's model).

cost per month = (CPU cores × price per vCPU-hour + memory GiB × price per GiB-hour) × 730 hours.
The prices are ``scaling.price_per_vcpu_hour`` and ``scaling.price_per_gib_hour`` in the settings, shared
by US2 (the replicas an HPA adds) and US3 (the requests right-sizing removes).
"""

from __future__ import annotations

from typing import Protocol

HOURS_PER_MONTH = 730
GIB = 1024**3


class Prices(Protocol):
    price_per_vcpu_hour: float
    price_per_gib_hour: float
    currency: str


def monthly(cpu_cores: float, memory_bytes: float, prices: Prices) -> float:
    """What ``cpu_cores`` and ``memory_bytes`` of requests cost for one month (unrounded)."""
    hourly = cpu_cores * prices.price_per_vcpu_hour + memory_bytes / GIB * prices.price_per_gib_hour
    return hourly * HOURS_PER_MONTH
