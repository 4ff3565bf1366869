"""The backtest: fitted on the first days, would the recommendation have survived the last one?"""

from __future__ import annotations

from workers.settings import RightsizingSettings
from workers.workflows.rightsizing import backtest
from workers.workflows.rightsizing.model import Figures, Resources

MI = 2**20
CURRENT = Resources(0.5, None, 512 * MI, 1024 * MI)


def figures(check_memory: float, check_cpu: float = 0.1) -> Figures:
    return Figures(
        {
            "fit_cpu_p95": 0.1,
            "fit_cpu_max": 0.12,
            "fit_memory_p95": 100 * MI,
            "fit_memory_max": 110 * MI,
            "check_cpu_max": check_cpu,
            "check_memory_max": check_memory,
        }
    )


def test_a_peak_above_the_fitted_memory_limit_is_an_oom() -> None:
    result = backtest.run(figures(300 * MI), CURRENT, RightsizingSettings(), stable=True)
    assert result.oom is True and result.failed
    assert result.fitted["memory_limit"] == 143 * MI  # 110Mi × 1.3
    assert "OOM kill" in result.detail


def test_usage_under_the_fitted_limits_passes() -> None:
    result = backtest.run(figures(120 * MI), CURRENT, RightsizingSettings(), stable=True)
    assert (result.oom, result.throttled, result.failed) == (False, False, False)
    assert result.detail == "fitted on days 1-6, checked on the last 1: passed"


def test_cpu_above_a_fitted_cpu_limit_is_throttling() -> None:
    settings = RightsizingSettings(cpu_limit_policy="ratio", cpu_limit_ratio=1.5)
    result = backtest.run(figures(100 * MI, check_cpu=0.5), CURRENT, settings, stable=True)
    assert result.throttled is True and result.oom is False
    no_limit = backtest.run(
        figures(100 * MI, check_cpu=5.0), CURRENT, RightsizingSettings(cpu_limit_policy="none"), True
    )
    assert no_limit.throttled is False, "no CPU limit: never throttled"


def test_missing_figures_say_so() -> None:
    result = backtest.run(Figures({}), CURRENT, RightsizingSettings(), stable=True)
    assert result.oom is None and result.throttled is None and not result.failed
