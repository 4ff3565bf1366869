"""consult(): order, time budget, breakers, skips with reasons, full answers kept aside, record entries."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.standins.holmesgpt_server import HolmesStandin
from tests.standins.incident import PLANTED
from tests.standins.kagent_a2a import KagentStandin
from tests.support.servers import free_port
from workers.errors import StoreUnavailable
from workers.integrations.advisers import consult, read_full_text, record_entries, suggested_actions
from workers.integrations.advisers.base import AdviceRequest, AdviceResult, AdviceStatus
from workers.integrations.advisers.builtin import BuiltinAdviser
from workers.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """An adviser whose answer, duration and availability the test decides."""

    def __init__(
        self,
        name: str,
        clock: FakeClock,
        *,
        status: AdviceStatus = AdviceStatus.ok,
        timeout_s: float = 10.0,
        takes: float | None = None,
        raw: str = "an answer",
        available: bool = True,
        raises: Exception | None = None,
    ) -> None:
        self.name, self.clock, self.status, self.timeout_s = name, clock, status, timeout_s
        self.takes, self.raw, self.available, self.raises = takes, raw, available, raises
        self.slices: list[float] = []
        self.unavailable_reason = "" if available else f"{name} is switched off for the test"

    def probe(self) -> bool:
        return self.available

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        self.slices.append(timeout_s)
        self.clock.now += timeout_s if self.takes is None else self.takes
        if self.raises:
            raise self.raises
        return AdviceResult(
            adviser=self.name, status=self.status, raw=self.raw, question=request.prompt, detail="x"
        )


def _consult(incident: dict[str, Any], names: list[str], settings: Settings, conn: redis.Redis, **kw: Any):
    return consult(
        names,
        alert=incident["alert"],
        target=incident["target"],
        evidence=incident["evidence"],
        diagnosis=incident["diagnosis"],
        settings=settings,
        redis=conn,
        **kw,
    )


def test_builtin_first_then_the_rules_order_with_reasons_for_skips(
    incident, make_settings, redis_conn: redis.Redis
) -> None:
    clock = FakeClock()
    advisers = {
        "builtin": BuiltinAdviser(),
        "kagent": Scripted("kagent", clock),
        "kubectl-ai": Scripted("kubectl-ai", clock),
    }
    names = ["kagent", "shell", "holmesgpt", "kubectl-ai", "kagent"]
    results = _consult(incident, names, make_settings(), redis_conn, clock=clock, advisers=advisers)
    assert [(r.adviser, r.status) for r in results] == [
        ("builtin", AdviceStatus.ok),
        ("kagent", AdviceStatus.ok),
        ("shell", AdviceStatus.skipped),
        ("holmesgpt", AdviceStatus.skipped),
        ("kubectl-ai", AdviceStatus.ok),
    ]
    assert results[0].summary.startswith("oom_killed: container app is OOMKilled")
    assert results[2].detail.startswith("'shell' is not an allowlisted adviser")
    assert results[3].detail == "not enabled in the settings (advisers.holmesgpt.enabled is false)"


def test_each_adviser_gets_the_smaller_of_its_timeout_and_the_budget_left(
    incident, make_settings, redis_conn: redis.Redis
) -> None:
    clock = FakeClock()
    advisers = {
        "kubectl-ai": Scripted("kubectl-ai", clock, timeout_s=30),  # uses its whole 30s
        "kagent": Scripted("kagent", clock, timeout_s=60, status=AdviceStatus.timeout),  # 60s, times out
        "holmesgpt": Scripted("holmesgpt", clock, timeout_s=50),  # only 10s left
        "k8sgpt": Scripted("k8sgpt", clock, timeout_s=5),  # nothing left
    }
    settings = make_settings(budget_s=100)
    results = _consult(incident, list(advisers), settings, redis_conn, clock=clock, advisers=advisers)
    assert [advisers[name].slices for name in advisers] == [[30], [60], [10], []]
    assert results[-1].status is AdviceStatus.skipped
    assert results[-1].detail == "overall adviser budget of 100s used up (0.0s left)"
    assert (results[0].adviser, results[0].status) == ("builtin", AdviceStatus.ok)  # always, and first


def test_breaker_counts_failures_opens_skips_and_resets(
    incident, make_settings, redis_conn: redis.Redis
) -> None:
    clock = FakeClock()
    flaky = Scripted("holmesgpt", clock, status=AdviceStatus.error, takes=1)
    settings = make_settings(breaker_failures=3, breaker_cooldown_s=120)

    def run() -> list[AdviceResult]:
        return _consult(
            incident, ["holmesgpt"], settings, redis_conn, clock=clock, advisers={"holmesgpt": flaky}
        )

    assert [run()[1].status for _ in range(3)] == [AdviceStatus.error] * 3
    skipped = run()[1]
    assert skipped.status is AdviceStatus.skipped
    assert skipped.detail.startswith(
        "circuit breaker open after 3 consecutive failures (threshold 3) (last: error: x)"
    )
    assert len(flaky.slices) == 3  # not called while open
    redis_conn.delete("aiops:breaker:holmesgpt:open")  # cooldown over
    flaky.status = AdviceStatus.ok
    assert run()[1].status is AdviceStatus.ok
    assert redis_conn.keys("aiops:breaker:*") == []


def test_unavailable_probes_count_as_failures_and_say_why(incident, make_settings, redis_conn) -> None:
    clock = FakeClock()
    off = Scripted("kagent", clock, available=False)
    result = _consult(
        incident, ["kagent"], make_settings(), redis_conn, clock=clock, advisers={"kagent": off}
    )[1]
    assert (result.status, result.detail) == (AdviceStatus.unavailable, "kagent is switched off for the test")
    assert off.slices == [] and result.question == ""
    assert redis_conn.hget("aiops:breaker:kagent", "failures") == b"1"


def test_full_answers_are_kept_aside_and_the_inline_copy_is_cut(incident, make_settings, redis_conn) -> None:
    clock = FakeClock()
    long_answer = "\n".join(f"line {n}: the pod is OOMKilled" for n in range(200))
    advisers = {"kagent": Scripted("kagent", clock, raw=long_answer, takes=2)}
    settings = make_settings(max_answer_chars=300)
    settings.proposals.retention_days = 7
    result = _consult(incident, ["kagent"], settings, redis_conn, clock=clock, advisers=advisers)[1]
    assert result.full_text_ref and result.full_text_ref.startswith("aiops:advice:")
    assert len(result.raw) <= 300
    assert result.raw.endswith(f"[… truncated; full text at {result.full_text_ref}]")
    assert read_full_text(redis_conn, result.full_text_ref) == long_answer
    assert 7 * 86400 - 5 <= redis_conn.ttl(result.full_text_ref) <= 7 * 86400
    assert result.duration_s == 2


def test_secrets_quoted_in_answers_are_redacted_before_they_are_kept(
    incident, make_settings, redis_conn
) -> None:
    clock = FakeClock()
    quoted = "The configmap has password=hunter2 and Authorization: Bearer abcdefghijklmnop"
    result = _consult(
        incident,
        ["kagent"],
        make_settings(),
        redis_conn,
        clock=clock,
        advisers={"kagent": Scripted("kagent", clock, raw=quoted, takes=1)},
    )[1]
    for text in (result.raw, read_full_text(redis_conn, result.full_text_ref or "") or ""):
        assert "hunter2" not in text and "abcdefghijklmnop" not in text
        assert "password=[REDACTED]" in text


def test_an_adapter_that_raises_does_not_stop_the_others(incident, make_settings, redis_conn) -> None:
    clock = FakeClock()
    advisers = {
        "kagent": Scripted("kagent", clock, raises=RuntimeError("bug"), takes=0),
        "k8sgpt": Scripted("k8sgpt", clock, takes=1),
    }
    results = _consult(
        incident, ["kagent", "k8sgpt"], make_settings(), redis_conn, clock=clock, advisers=advisers
    )
    assert (results[1].status, results[1].detail) == (AdviceStatus.error, "adapter raised RuntimeError: bug")
    assert results[2].status is AdviceStatus.ok


def test_redis_down_is_a_temporary_error(incident, make_settings) -> None:
    dead = redis.Redis(host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0))
    with pytest.raises(StoreUnavailable):
        _consult(incident, ["kagent"], make_settings(kagent={"enabled": True, "url": "http://x"}), dead)


def test_every_tool_for_real_with_the_stand_ins(
    incident, make_settings, redis_conn, *, kagent_server: KagentStandin, holmes: HolmesStandin, monkeypatch
) -> None:
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", "answer")
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "problems")
    settings = make_settings(
        kubectl_ai={"enabled": True},
        kagent={"enabled": True, "url": kagent_server.url},
        holmesgpt={"enabled": True, "url": holmes.url},
        k8sgpt={"enabled": True},
    )
    names = ["kubectl-ai", "kagent", "holmesgpt", "k8sgpt"]
    results = _consult(incident, names, settings, redis_conn)
    assert [(r.adviser, r.status) for r in results] == [("builtin", AdviceStatus.ok)] + [
        (name, AdviceStatus.ok) for name in names
    ]
    for result in results[1:]:
        assert result.full_text_ref and read_full_text(redis_conn, result.full_text_ref)
        for secret in PLANTED:
            assert secret not in result.question
    entries = record_entries(results)
    assert [entry["kind"] for entry in entries] == ["advice"] * 5
    assert entries[2]["data"]["adviser"] == "kagent" and entries[2]["data"]["answer"].startswith(
        "## Diagnosis"
    )
    actions = suggested_actions(results, ["raise-memory-limit", "rollback-deployment"])
    assert {adviser for adviser, _ in actions} == {"kubectl-ai", "kagent", "holmesgpt"}
    assert all(rec.action == "raise-memory-limit" and rec.params["memory"] == "512Mi" for _, rec in actions)
    assert redis_conn.keys("aiops:breaker:*") == []


def test_with_every_tool_unreachable_consult_is_quick_and_says_why(
    incident, make_settings, redis_conn, tmp_path: Path
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        kubectl_ai={"enabled": True, "kubeconfig": None},
        kagent={"enabled": True, "url": closed},
        holmesgpt={"enabled": True, "url": closed},
        k8sgpt={"enabled": True, "binary": str(tmp_path / "k8sgpt")},
        breaker_failures=2,
    )
    names = ["kubectl-ai", "kagent", "holmesgpt", "k8sgpt"]
    started = time.monotonic()
    results = _consult(incident, names, settings, redis_conn)
    assert time.monotonic() - started < 3
    assert [r.status for r in results] == [AdviceStatus.ok] + [AdviceStatus.unavailable] * 4
    details = {r.adviser: r.detail for r in results}
    assert details["kubectl-ai"].startswith("no read-only kubeconfig configured")
    assert details["kagent"].startswith(f"cannot reach {closed}/api/a2a/kagent/k8s-agent")
    assert details["holmesgpt"].startswith(f"cannot reach {closed}/api/investigate")
    assert "not found or not executable" in details["k8sgpt"]
    _consult(incident, names, settings, redis_conn)  # second failure opens every breaker
    started = time.monotonic()
    again = _consult(incident, names, settings, redis_conn)
    assert time.monotonic() - started < 1
    assert [r.status for r in again] == [AdviceStatus.ok] + [AdviceStatus.skipped] * 4
    assert all(r.detail.startswith("circuit breaker open after 2 consecutive failures") for r in again[1:])
    assert [e["data"]["status"] for e in record_entries(again)] == ["ok"] + ["skipped"] * 4


def test_a_slow_tool_uses_up_the_budget_and_the_next_is_skipped(
    incident, make_settings, redis_conn, *, holmes: HolmesStandin, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", "slow")
    monkeypatch.setenv("KUBECTL_AI_STANDIN_PIDFILE", str(tmp_path / "pids"))
    settings = make_settings(
        budget_s=1.2, kubectl_ai={"enabled": True}, holmesgpt={"enabled": True, "url": holmes.url}
    )
    started = time.monotonic()
    results = _consult(incident, ["kubectl-ai", "holmesgpt"], settings, redis_conn)
    assert time.monotonic() - started < 4
    assert results[1].status is AdviceStatus.timeout
    assert results[1].detail.startswith("no answer within 1.")
    assert (
        results[2].status is AdviceStatus.skipped
        and "overall adviser budget of 1.2s used up" in results[2].detail
    )
    assert holmes.requests == []


def test_consult_accepts_advisers_built_from_settings(incident, make_settings, redis_conn) -> None:
    results = _consult(incident, [], make_settings(), redis_conn)
    assert [(r.adviser, r.status) for r in results] == [("builtin", AdviceStatus.ok)]
    assert results[0].full_text_ref  # even the built-in opinion is kept in full
