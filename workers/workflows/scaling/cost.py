"""The monthly cost of the replicas an HPA adds: requests priced per vCPU-hour and GiB-hour.

delta replicas × (CPU request × price per vCPU-hour + memory request in GiB × price per GiB-hour)
× 730 hours, at minReplicas, the desired count and maxReplicas (docs/runbooks/scaling-decision.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from workers.settings import ScalingSettings
from workers.spine import pricing

HOURS_PER_MONTH = pricing.HOURS_PER_MONTH
GIB = pricing.GIB


@dataclass(frozen=True)
class Cost:
    monthly_delta_min: float
    monthly_delta_expected: float
    monthly_delta_max: float
    per_replica_month: float
    currency: str
    price_per_vcpu_hour: float
    price_per_gib_hour: float
    hours_per_month: int = HOURS_PER_MONTH

    def to_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def per_replica_month(
    cpu_request_cores: float, memory_request_bytes: float, prices: ScalingSettings
) -> float:
    return pricing.monthly(cpu_request_cores, memory_request_bytes, prices)


def monthly(
    current: int,
    minimum: int,
    expected: int,
    maximum: int,
    cpu_request_cores: float,
    memory_request_bytes: float,
    prices: ScalingSettings,
) -> Cost:
    """The cost of (replicas − current) at min, expected and max, per month."""
    one = per_replica_month(cpu_request_cores, memory_request_bytes, prices)
    return Cost(
        monthly_delta_min=round((minimum - current) * one, 2),
        monthly_delta_expected=round((expected - current) * one, 2),
        monthly_delta_max=round((maximum - current) * one, 2),
        per_replica_month=round(one, 4),
        currency=prices.currency,
        price_per_vcpu_hour=prices.price_per_vcpu_hour,
        price_per_gib_hour=prices.price_per_gib_hour,
    )
