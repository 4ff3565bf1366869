"""The verdict on one look: failing above the limit or the old ReplicaSet's share plus the margin;
too few requests, no samples or Prometheus down are inconclusive, never healthy."""

from __future__ import annotations

import pytest

from workers.workflows.rollout_gate import analysis
from workers.workflows.rollout_gate.model import GateConfig, Reading, Verdict

CONFIG = GateConfig(error_rate_query="x", request_rate_query="y", min_request_rate=1.0)


def reading(errors: float | None, requests: float | None) -> Reading:
    return Reading(replicaset="web-abc", error_rate=errors, request_rate=requests)


@pytest.mark.parametrize(
    ("new", "old", "verdict", "words"),
    [
        (reading(12, 100), reading(0.1, 100), Verdict.failing, "12.0 % > 5.0 %"),
        (reading(5, 100), reading(0.1, 100), Verdict.healthy, "5.0 % <= 5.0 %"),
        (reading(0, 100), reading(None, None), Verdict.healthy, "old: n/a"),
        (reading(0, 0.5), reading(0, 100), Verdict.inconclusive, "too few requests"),
        (reading(0, 0), reading(0, 100), Verdict.inconclusive, "too few requests"),
        (reading(None, None), reading(0, 100), Verdict.inconclusive, "no samples"),
    ],
)
def test_judge(new: Reading, old: Reading, verdict: Verdict, words: str) -> None:
    found, reason = analysis.judge(new, old, CONFIG)
    assert found == verdict and words in reason


def test_the_margin_over_the_old_replicaset_fails_under_the_limit() -> None:
    config = CONFIG.model_copy(update={"max_increase": 0.02})
    verdict, reason = analysis.judge(reading(4, 100), reading(0.5, 100), config)
    assert verdict == Verdict.failing and "exceeds the old one's 0.5 %" in reason
    assert analysis.judge(reading(4, 100), reading(3, 100), config)[0] == Verdict.healthy


def test_prometheus_down_is_inconclusive_with_the_reason() -> None:
    verdict, reason = analysis.unreachable("prometheus: ConnectionError")
    assert verdict == Verdict.inconclusive and "ConnectionError" in reason
