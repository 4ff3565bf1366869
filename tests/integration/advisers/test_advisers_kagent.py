"""kagent over A2A against a real a2a-sdk server: completed, failed, input-required, slow, malformed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.standins.incident import PLANTED
from tests.standins.kagent_a2a import MALFORMED, KagentStandin, MalformedA2AServer
from tests.support.servers import free_port
from workers.integrations.advisers.base import AdviceStatus
from workers.integrations.advisers.kagent import KagentAdviser
from workers.settings import Settings


def _adviser(
    make_settings: Callable[..., Settings], url: str | None, agent: str, **section: object
) -> KagentAdviser:
    return KagentAdviser(
        make_settings(kagent={"enabled": True, "url": url, "agent": agent, **section}).advisers.kagent
    )


def test_completed_task_is_read_from_its_artifacts(
    make_settings, request_for, kagent_server: KagentStandin
) -> None:
    request = request_for()
    before = len(kagent_server.received["k8s-agent"])
    result = _adviser(make_settings, kagent_server.url, "k8s-agent").advise(request, 10)
    assert result.status is AdviceStatus.ok, result.detail
    assert result.summary == "Diagnosis"
    assert result.findings == [
        "last termination reason OOMKilled, exit code 137",
        "revision 3 did not change the memory settings",
    ]
    assert [(rec.risk, rec.action) for rec in result.recommendations] == [
        ("read", None),
        ("mutating", "raise-memory-limit"),
    ]
    received = kagent_server.received["k8s-agent"][before:]
    assert received == [request.prompt]
    for secret in PLANTED:
        assert secret not in received[0]


def test_a2a_0_3_wire_format_and_bearer_token(
    make_settings, request_for, kagent_server: KagentStandin, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("kagent-token-123\n", encoding="utf-8")
    before = len(kagent_server.headers)
    result = _adviser(make_settings, kagent_server.url, "k8s-agent", token_file=str(token)).advise(
        request_for(), 10
    )
    assert result.status is AdviceStatus.ok
    headers = kagent_server.headers[before:]
    assert headers[0]["authorization"] == "Bearer kagent-token-123"
    assert headers[0]["a2a-version"] == "0.3"


def test_a_direct_message_reply_is_accepted(make_settings, request_for, kagent_server: KagentStandin) -> None:
    result = _adviser(make_settings, kagent_server.url, "message-agent").advise(request_for(), 10)
    assert result.status is AdviceStatus.ok
    assert result.summary == "Diagnosis"


def test_failed_task_is_an_error(make_settings, request_for, kagent_server: KagentStandin) -> None:
    result = _adviser(make_settings, kagent_server.url, "failing-agent").advise(request_for(), 10)
    assert result.status is AdviceStatus.error
    assert "ended failed: model provider returned 401: invalid API key" in result.detail


def test_input_required_is_a_mutating_recommendation_never_approved(
    make_settings, request_for, kagent_server: KagentStandin
) -> None:
    before = len(kagent_server.received["approval-agent"])
    result = _adviser(make_settings, kagent_server.url, "approval-agent").advise(request_for(), 10)
    assert result.status is AdviceStatus.ok
    assert result.summary == "kagent wants to change the cluster and asked for approval; it was not given"
    rec = result.recommendations[0]
    assert (rec.command, rec.risk, rec.action) == (
        "kubectl delete pod checkout-7d9f-abcde -n shop",
        "mutating",
        "restart-pod",
    )
    assert "k8s_delete_resource" in rec.text and "never approves" in rec.text
    time.sleep(0.2)
    assert len(kagent_server.received["approval-agent"]) == before + 1  # no approval message was ever sent


def test_empty_answer_is_no_findings(make_settings, request_for, kagent_server: KagentStandin) -> None:
    result = _adviser(make_settings, kagent_server.url, "empty-agent").advise(request_for(), 10)
    assert result.status is AdviceStatus.no_findings


def test_a_slow_agent_times_out(make_settings, request_for, kagent_server: KagentStandin) -> None:
    started = time.monotonic()
    result = _adviser(make_settings, kagent_server.url, "slow-agent").advise(request_for(), 1.0)
    assert time.monotonic() - started < 3
    assert result.status is AdviceStatus.timeout
    assert result.detail.endswith("/api/a2a/kagent/slow-agent within 1.0s")


@pytest.mark.parametrize("flavour", sorted(MALFORMED))
def test_malformed_answers_are_errors(
    make_settings, request_for, malformed_a2a: MalformedA2AServer, flavour
) -> None:
    result = _adviser(make_settings, malformed_a2a.url, flavour).advise(request_for(), 5)
    assert result.status is AdviceStatus.error, result.detail
    assert f"/api/a2a/kagent/{flavour}" in result.detail


def test_unreachable_or_unconfigured_is_unavailable(make_settings, request_for) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _adviser(make_settings, url, "k8s-agent").advise(request_for(), 5)
    assert result.status is AdviceStatus.unavailable, result.detail
    assert url in result.detail
    unconfigured = _adviser(make_settings, None, "k8s-agent").advise(request_for(), 5)
    assert unconfigured.status is AdviceStatus.unavailable
    assert unconfigured.detail == "no kagent URL configured (advisers.kagent.url)"
