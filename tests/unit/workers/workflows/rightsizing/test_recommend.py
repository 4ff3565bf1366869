"""The formula: p95 × (1 + margin) for requests, max × (1 + margin) for the memory limit, floors, rounding,
CPU limit policies, and memory never lowered when the window was unstable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workers.settings import RightsizingSettings
from workers.workflows.rightsizing import recommend
from workers.workflows.rightsizing.model import Resources

MI = 2**20
CURRENT = Resources(cpu_request=0.5, cpu_limit=1.0, memory_request=512 * MI, memory_limit=1024 * MI)


def usage(
    cpu_p95: float = 0.1424, memory_p95: float = 200 * MI, memory_max: float = 250 * MI
) -> recommend.Usage:
    return recommend.Usage(cpu_p95=cpu_p95, cpu_max=0.3, memory_p95=memory_p95, memory_max=memory_max)


def test_requests_are_p95_plus_the_margin_rounded_up() -> None:
    sized = recommend.size(usage(), CURRENT, RightsizingSettings())
    assert sized.resources.cpu_request == pytest.approx(0.190)  # 142.4m × 1.3 = 185.1m → 190m
    assert sized.resources.memory_request == 260 * MI
    assert sized.resources.memory_limit == 325 * MI  # 250Mi × 1.3
    assert sized.resources.cpu_limit == 1.0, "keep: the current limit"
    expected = "p95 142.4m × (1 + 0.30) = 185.1m → 190m (rounded up to 5m, floor 10m)"
    assert sized.arithmetic["cpu_request"] == expected


def test_a_larger_margin_and_the_floors() -> None:
    settings = RightsizingSettings(margin=0.5)
    sized = recommend.size(usage(cpu_p95=0.001, memory_p95=1 * MI, memory_max=2 * MI), CURRENT, settings)
    assert sized.resources.cpu_request == pytest.approx(0.010)
    assert sized.resources.memory_request == 32 * MI
    assert sized.resources.memory_limit == 32 * MI, "never below the request"


def test_the_margin_cannot_go_below_thirty_percent() -> None:
    with pytest.raises(ValidationError, match="30 % is the floor"):
        RightsizingSettings(margin=0.2)
    with pytest.raises(ValidationError):
        RightsizingSettings(history_days=6)


@pytest.mark.parametrize(
    ("policy", "current_limit", "expected"),
    [
        ("none", 1.0, None),
        ("ratio", None, 0.38),
        ("keep", None, None),
        ("keep", 0.1, 0.19),
        ("keep", 1.0, 1.0),
    ],
)
def test_cpu_limit_policies(policy: str, current_limit: float | None, expected: float | None) -> None:
    settings = RightsizingSettings(cpu_limit_policy=policy, cpu_limit_ratio=2.0)  # type: ignore[arg-type]
    current = Resources(0.5, current_limit, 512 * MI, 1024 * MI)
    limit = recommend.size(usage(), current, settings).resources.cpu_limit
    assert limit == (pytest.approx(expected) if expected is not None else None)


def test_unstable_window_never_lowers_memory() -> None:
    sized = recommend.size(usage(), CURRENT, RightsizingSettings(), stable=False)
    assert sized.resources.memory_request == 512 * MI and sized.resources.memory_limit == 1024 * MI
    assert sized.kept == ["memory_request", "memory_limit"]
    assert sized.resources.cpu_request == pytest.approx(0.190), "CPU may still go down"
    oom = recommend.size(usage(memory_max=1000 * MI), CURRENT, RightsizingSettings(), stable=False)
    assert oom.resources.memory_limit == 1300 * MI, "an OOM near the limit raises it"


def test_changes_under_the_hysteresis_do_not_count() -> None:
    new = Resources(0.47, 1.0, 600 * MI, 1024 * MI)
    assert recommend.changes_enough(CURRENT, new, 0.10) == ["memory_request"]
    assert recommend.changes_enough(Resources(), Resources(memory_limit=MI), 0.10) == ["memory_limit"]
    assert recommend.changes_enough(CURRENT, CURRENT, 0.10) == []
