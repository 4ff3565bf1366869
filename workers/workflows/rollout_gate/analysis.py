"""One look at a rollout: the new ReplicaSet's reading against the thresholds and the old one's.

Pure: no I/O. Too few requests, no sample or a Prometheus that cannot answer is ``inconclusive`` with
the reason; it is never read as healthy (no traffic is not a pass).
"""

from __future__ import annotations

from workers.workflows.rollout_gate.model import GateConfig, Reading, Verdict


def percent(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.1f} %"


def judge(new: Reading, old: Reading, config: GateConfig) -> tuple[Verdict, str]:
    """The verdict on ``new`` (the new ReplicaSet) and why."""
    if new.request_rate is None:
        return Verdict.inconclusive, f"no samples for the new ReplicaSet {new.replicaset or '(none yet)'}"
    if new.request_rate < config.min_request_rate:
        return (
            Verdict.inconclusive,
            f"too few requests: {new.request_rate:.3g}/s to the new ReplicaSet, "
            f"fewer than the minimum of {config.min_request_rate:g}/s",
        )
    ratio = new.error_ratio or 0.0
    if ratio > config.max_error_rate:
        return (
            Verdict.failing,
            f"new ReplicaSet error rate {percent(ratio)} > {percent(config.max_error_rate)}"
            f" (old: {percent(old.error_ratio)})",
        )
    old_ratio = old.error_ratio
    if config.max_increase is not None and old_ratio is not None and ratio - old_ratio > config.max_increase:
        return (
            Verdict.failing,
            f"new ReplicaSet error rate {percent(ratio)} exceeds the old one's {percent(old_ratio)} "
            f"by more than {percent(config.max_increase)}",
        )
    return (
        Verdict.healthy,
        f"new ReplicaSet error rate {percent(ratio)} <= {percent(config.max_error_rate)}"
        f" at {new.request_rate:.3g} requests/s (old: {percent(old_ratio)})",
    )


def unreachable(detail: str) -> tuple[Verdict, str]:
    """The verdict when Prometheus could not answer."""
    return Verdict.inconclusive, f"prometheus could not answer: {detail}"
