"""The engine's guards, each with its reason, and the HPA scale point kept (or the change refused)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.rightsizing import MI, analyse, workload
from workers.workflows.rightsizing.model import Figures, Resources

run = analyse


def hpa(target: int, kind: str = "Resource") -> dict[str, Any]:
    body = {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}
    if kind == "ContainerResource":
        body["container"] = "app"
    metric = {"type": kind, ("resource" if kind == "Resource" else "containerResource"): body}
    return {
        "metadata": {"name": "api"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "metrics": [metric]},
    }


def test_ok_with_savings_and_quantity_strings() -> None:
    result = run(workload())
    (row,) = result["containers"]
    assert row["status"] == "ok" and result["proposed"] == ["app"]
    assert row["recommended"] == {
        "cpu_request": "195m", "cpu_limit": None, "memory_request": "260Mi", "memory_limit": "286Mi",
    }  # fmt: skip
    assert row["percentiles"]["cpu"] == {"p50": "100m", "p95": "150m", "p99": "160m", "max": "200m"}
    assert row["savings"]["cpu_request_pct"] == 61.0 and row["savings"]["memory_request_pct"] == 49.2
    # (0.305 cores × 0.031611 + 252Mi in GiB × 0.004237) × 730 h × 2 replicas
    assert row["savings"]["monthly"] == pytest.approx(15.60, abs=0.01)
    assert row["days_of_data"] == 7.0 and row["margin"] == 0.3


def test_less_than_the_history_days_is_insufficient_data() -> None:
    (row,) = run(workload(days=3.5))["containers"]
    assert row["status"] == "insufficient_data"
    assert row["reason"] == "3.5 days of data; 7 are needed before anything is proposed"


def test_no_samples_is_insufficient_data() -> None:
    usage = workload()
    usage.containers[0].figures = Figures({})
    (row,) = run(usage)["containers"]
    assert row["status"] == "insufficient_data" and "no usage samples" in row["reason"]


def test_prometheus_errors_are_no_metrics() -> None:
    usage = workload()
    usage.containers[0].figures = Figures({})
    usage.errors.append("prometheus cpu_p95: timeout")
    assert run(usage)["containers"][0]["status"] == "no_metrics"


def test_restarts_keep_memory_and_say_so() -> None:
    (row,) = run(workload(restarts=2.0))["containers"]
    assert row["status"] == "ok", "CPU still changes"
    assert row["recommended"]["memory_request"] == "512Mi" and row["recommended"]["memory_limit"] == "1Gi"
    assert {
        "guard": "stability",
        "reason": "2 restart(s) and 0 OOM kill(s) in the window: memory is never lowered",
    } in row["guards"]


def test_unstable_when_only_memory_would_have_changed() -> None:
    current = Resources(0.195, None, 512 * MI, 1024 * MI)
    (row,) = run(workload(current, restarts=1.0, oom_kills=1.0))["containers"]
    assert row["status"] == "unstable" and "memory stays" in row["reason"]


def test_small_changes_are_no_change() -> None:
    current = Resources(0.2, None, 260 * MI, 290 * MI)
    (row,) = run(workload(current))["containers"]
    assert row["status"] == "no_change" and row["recommended"] == row["current"]


def test_failed_backtest_is_not_proposed() -> None:
    result = run(workload(check_memory_max=400 * MI))
    assert result["containers"][0]["status"] == "backtest_failed" and result["proposed"] == []


def test_hpa_target_is_recomputed_to_keep_the_scale_point() -> None:
    result = run(workload(hpas=[hpa(70)]))
    (row,) = result["containers"]
    assert row["hpa"]["current_target_utilization"] == 70
    assert row["hpa"]["recommended_target_utilization"] == 179
    # 70 % of 500m = 350m per pod; with 195m requested that is 179 %: outside 10-95 %, refused.
    assert row["status"] == "hpa_managed" and "179 %" in row["reason"] and result["hpa_retargets"] == []
    ok = run(workload(hpas=[hpa(30, "ContainerResource")]))
    assert ok["containers"][0]["status"] == "ok"
    assert ok["hpa_retargets"] == [
        {"name": "api", "metric": "cpu", "current_target_utilization": 30,
         "recommended_target_utilization": 77, "index": 0, "container": "app"},
    ]  # fmt: skip
