"""The scaling engine's arithmetic: HPA formula, maxReplicas from the peak, N−1 capacity, cost, replay."""

from __future__ import annotations

import pytest

from workers.settings import ScalingSettings
from workers.workflows.scaling import capacity, cost, recommend, replay

GIB = 1024**3


def test_hpa_formula_with_tolerance() -> None:
    assert recommend.hpa_desired(4, 0.75, 0.70) == 4  # ratio 1.07: within the 0.1 tolerance
    assert recommend.hpa_desired(4, 0.90, 0.70) == 6  # ceil(4 × 0.9 / 0.7) = ceil(5.14)
    assert recommend.hpa_desired(4, 0.30, 0.70) == 2  # ceil(1.71)
    assert recommend.hpa_desired(3, 0.76, 0.70) == 3  # ratio 1.086
    assert recommend.hpa_desired(3, 0.78, 0.70) == 4  # ratio 1.114: ceil(3.34)


def test_min_is_current_and_max_covers_the_peak_with_headroom() -> None:
    load = recommend.Load(3, 0.5, 256 * 2**20, usage_5m_cores=0.45, peak_total_cores=2.8, window_s=7 * 86400)
    result = recommend.recommend(load, target=0.70, headroom=0.2, placeable=None)
    # utilization 0.9: ceil(3 × 0.9 / 0.7) = 4; peak 2.8 × 1.2 / (0.5 × 0.7) = 9.6 → 10
    assert (result.min_replicas, result.desired_replicas, result.max_replicas) == (3, 4, 10)
    assert result.utilization_now == 0.9 and not result.bounded_by_capacity


def test_max_is_bounded_by_what_the_cluster_can_place() -> None:
    load = recommend.Load(3, 0.5, 256 * 2**20, usage_5m_cores=0.45, peak_total_cores=2.8)
    result = recommend.recommend(load, target=0.70, headroom=0.2, placeable=6)
    assert (result.max_replicas, result.unbounded_max_replicas, result.bounded_by_capacity) == (6, 10, True)
    never_below_min = recommend.recommend(load, target=0.70, headroom=0.2, placeable=1)
    assert never_below_min.max_replicas == 3


def test_no_cpu_request_is_refused() -> None:
    with pytest.raises(ValueError, match="no CPU requests"):
        recommend.recommend(recommend.Load(2, 0.0, 0.0, 0.1, 0.2), 0.7, 0.2, None)


def test_capacity_with_one_node_lost() -> None:
    nodes = [capacity.Node(f"n{i}", 4.0, 16 * GIB) for i in range(3)]
    # N−1: 8 cores and 32 GiB; others request 3 cores and 4 GiB → 5 cores, 28 GiB free: 10 pods of 500m.
    fit = capacity.check(10, nodes, 3.0, 4 * GIB, 0.5, 1 * GIB)
    assert fit.fits and fit.placeable_replicas == 10 and fit.shortfall is None
    short = capacity.check(14, nodes, 3.0, 4 * GIB, 0.5, 1 * GIB)
    assert not short.fits and short.placeable_replicas == 10
    assert short.shortfall is not None
    assert short.shortfall["replicas"] == 4 and short.shortfall["cpu_cores"] == 2.0
    assert "nodes are needed" in short.shortfall["detail"]


def test_capacity_memory_can_be_the_bound_and_unready_nodes_do_not_count() -> None:
    nodes = [
        capacity.Node("a", 8.0, 4 * GIB),
        capacity.Node("b", 8.0, 4 * GIB),
        capacity.Node("c", 8.0, 64 * GIB, False),
    ]
    fit = capacity.check(5, nodes, 0.0, 0.0, 0.1, 1 * GIB)
    assert (
        fit.placeable_replicas == 4
        and not fit.fits
        and fit.shortfall
        and fit.shortfall["memory_bytes"] == GIB
    )
    assert any("not counted" in note for note in fit.notes)


def test_cost_at_min_expected_and_max() -> None:
    prices = ScalingSettings()
    result = cost.monthly(3, 3, 4, 10, 0.5, 1 * GIB, prices)
    one = (0.5 * 0.031611 + 1 * 0.004237) * 730
    assert result.per_replica_month == round(one, 4)
    assert (result.monthly_delta_min, result.monthly_delta_expected, result.monthly_delta_max) == (
        0.0,
        round(one, 2),
        round(7 * one, 2),
    )
    assert result.currency == "USD"


def test_replay_scales_up_within_the_policy_and_down_after_stabilization() -> None:
    # 2 cores of demand for 10 minutes, then 0.5 cores, on pods requesting 500m at a 70 % target.
    samples = [(float(t), 2.0) for t in range(0, 600, 60)] + [(float(t), 0.5) for t in range(600, 1800, 60)]
    result = replay.replay(samples, 0.5, 0.70, minimum=1, maximum=10, start_replicas=1)
    hour = result["hours"][0]
    # ceil(2 / (0.5 × 0.7)) = 6 pods at the peak; the first sync goes 1 → 5 (max(+4, +100 %)), then 6.
    assert hour["replicas_max"] == 6 and hour["peak_demand_cores"] == 2.0
    # After the drop, 0.5 cores need ceil(1.43) = 2 pods.
    assert hour["replicas_min"] == 2
    assert result["peak_replicas"] == 6 and result["share_at_max"] == 0.0
    # The 300 s scale-down stabilization: four minutes of low demand keep 6 replicas, six minutes do not.
    four = replay.replay(samples[:14], 0.5, 0.70, minimum=1, maximum=10, start_replicas=6)
    assert four["hours"][0]["replicas_min"] == 6
    six = replay.replay(samples[:16], 0.5, 0.70, minimum=1, maximum=10, start_replicas=6)
    assert six["hours"][0]["replicas_min"] == 2


def test_replay_at_max_is_reported() -> None:
    samples = [(float(t), 5.0) for t in range(0, 3600, 60)]
    result = replay.replay(samples, 0.5, 0.70, minimum=2, maximum=4, start_replicas=2)
    assert result["peak_replicas"] == 4 and result["share_at_max"] > 0.9 and result["share_over_target"] > 0.9
