"""HolmesGPT through a real HTTP stand-in: the request body, the answer's sections, failures, timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.standins.holmesgpt_server import HolmesStandin
from tests.standins.incident import PLANTED
from tests.support.servers import free_port
from workers.integrations.advisers.base import AdviceStatus
from workers.integrations.advisers.holmesgpt import HolmesAdviser
from workers.settings import Settings


def _adviser(make_settings: Callable[..., Settings], url: str | None, **section: object) -> HolmesAdviser:
    return HolmesAdviser(make_settings(holmesgpt={"enabled": True, "url": url, **section}).advisers.holmesgpt)


def test_investigate_request_and_answer(make_settings, request_for, holmes: HolmesStandin) -> None:
    request = request_for()
    result = _adviser(make_settings, holmes.url + "/", model="azure/gpt-4o").advise(request, 10)
    assert len(holmes.requests) == 1
    body = holmes.requests[0]
    assert body["source"] == "prometheus"
    assert body["title"] == "KubePodCrashLooping: Pod shop/checkout-7d9f-abcde"
    assert body["description"] == request.prompt
    assert body["subject"] == {
        "name": "checkout-7d9f-abcde",
        "namespace": "shop",
        "kind": "pod",
        "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-7d9f-abcde"},
    }
    assert body["context"]["alert"]["fingerprint"] == "c4f1a2b3"
    assert body["context"]["diagnosis"]["category"] == "oom_killed"
    assert body["model"] == "azure/gpt-4o"
    for secret in PLANTED:
        assert secret not in str(body)

    assert result.status is AdviceStatus.ok
    assert result.summary == "The memory limit of 256Mi is too low for the Java heap"
    assert result.findings == [
        "The memory limit of 256Mi is too low for the Java heap",
        "The last termination reason is OOMKilled (exit 137)",
        "ran (read-only): kubectl describe pod checkout-7d9f-abcde",
    ]
    assert [(rec.command, rec.risk, rec.action) for rec in result.recommendations] == [
        ("kubectl describe pod checkout-7d9f-abcde -n shop", "read", None),
        (
            "kubectl set resources deployment/checkout -c app --limits=memory=512Mi -n shop",
            "mutating",
            "raise-memory-limit",
        ),
    ]
    assert result.raw.startswith("# Investigation of checkout-7d9f-abcde")
    assert "## Next Steps" in result.raw
    assert result.question == request.prompt


def test_server_errors_and_bad_answers(make_settings, request_for, holmes: HolmesStandin) -> None:
    adviser = _adviser(make_settings, holmes.url)
    holmes.mode = "error"
    failed = adviser.advise(request_for(), 10)
    assert failed.status is AdviceStatus.error
    assert failed.detail.startswith("HolmesGPT answered HTTP 500: ")
    assert "invalid api key" in failed.detail
    holmes.mode = "bad-json"
    garbled = adviser.advise(request_for(), 10)
    assert garbled.status is AdviceStatus.error and "invalid JSON" in garbled.detail
    holmes.mode = "empty"
    assert adviser.advise(request_for(), 10).status is AdviceStatus.no_findings


def test_a_slow_server_times_out(make_settings, request_for) -> None:
    slow = HolmesStandin(mode="slow", delay_s=10).start()
    try:
        started = time.monotonic()
        result = _adviser(make_settings, slow.url).advise(request_for(), 1.0)
        assert time.monotonic() - started < 3
        assert result.status is AdviceStatus.timeout
        assert result.detail == f"no answer from {slow.url}/api/investigate within 1.0s"
    finally:
        slow.stop()


def test_unreachable_or_unconfigured_is_unavailable(make_settings, request_for) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _adviser(make_settings, url).advise(request_for(), 5)
    assert result.status is AdviceStatus.unavailable
    assert result.detail.startswith(f"cannot reach {url}/api/investigate: ConnectError")
    unconfigured = _adviser(make_settings, None).advise(request_for(), 5)
    assert unconfigured.status is AdviceStatus.unavailable
    assert unconfigured.detail == "no HolmesGPT URL configured (advisers.holmesgpt.url)"
