"""k8sgpt through its stand-in: the exact argument list, the JSON report, failures and timeouts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.standins.processes import survivors
from workers.integrations.advisers.base import AdviceStatus
from workers.integrations.advisers.k8sgpt import K8sgptAdviser
from workers.settings import Settings


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    path = tmp_path / "k8sgpt.json"
    monkeypatch.setenv("K8SGPT_STANDIN_RECORD", str(path))
    return lambda: json.loads(path.read_text())["argv"]


def _adviser(make_settings: Callable[..., Settings], **section: object) -> K8sgptAdviser:
    return K8sgptAdviser(make_settings(k8sgpt={"enabled": True, **section}).advisers.k8sgpt)


def test_analyzes_pods_of_the_target_namespace(make_settings, request_for, recorded, monkeypatch) -> None:
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "problems")
    result = _adviser(make_settings).advise(request_for(), 20)
    assert recorded() == ["analyze", "-o", "json", "--filter", "Pod", "-n", "shop"]
    assert result.status is AdviceStatus.ok
    pod = "Pod shop/checkout-7d9f-abcde"
    assert result.findings[:2] == [
        f"{pod}: the last termination reason is OOMKilled container=app pod=checkout-7d9f-abcde",
        f"{pod}: back-off 5m0s restarting failed container=app pod=checkout-7d9f-abcde_shop",
    ]
    assert result.findings[2] == 'Pod shop/worker-5c6d-xyz12: Back-off pulling image "worker:nope"'
    assert result.summary == result.findings[0]
    assert result.recommendations == []  # without --explain there is no advice, only findings
    assert result.question == "k8sgpt analyze -o json --filter Pod -n shop"
    assert json.loads(result.raw)["status"] == "ProblemDetected"


def test_explain_only_when_configured_and_then_anonymized(
    make_settings, request_for, recorded, kubeconfig: Path, monkeypatch
) -> None:
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "problems")
    result = _adviser(make_settings, explain=True, kubeconfig=str(kubeconfig)).advise(request_for(), 20)
    assert recorded() == [
        "analyze",
        "-o",
        "json",
        "--filter",
        "Pod",
        "-n",
        "shop",
        "--explain",
        "--anonymize",
        "--kubeconfig",
        str(kubeconfig),
    ]
    assert result.status is AdviceStatus.ok
    assert result.summary.startswith("Error: The container app was killed")
    assert [(rec.risk, rec.action) for rec in result.recommendations] == [
        ("mutating", "raise-memory-limit"),
        ("read", None),
    ]


def test_no_problems_is_no_findings(make_settings, request_for, monkeypatch) -> None:
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "ok")
    result = _adviser(make_settings).advise(request_for(), 20)
    assert result.status is AdviceStatus.no_findings
    assert result.summary == "k8sgpt found no Pod problems in namespace shop"


def test_explain_without_a_backend_is_an_error(make_settings, request_for, monkeypatch) -> None:
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "no-backend")
    result = _adviser(make_settings, explain=True).advise(request_for(), 20)
    assert result.status is AdviceStatus.error
    assert result.detail == (
        "k8sgpt exited with 1: "
        "Error: AI provider openai not specified in configuration. Please run k8sgpt auth"
    )


def test_output_that_is_not_the_json_report_is_an_error(make_settings, request_for, monkeypatch) -> None:
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "broken-json")
    result = _adviser(make_settings).advise(request_for(), 20)
    assert result.status is AdviceStatus.error
    assert "not its JSON report" in result.detail


def test_timeout_kills_the_process_group(make_settings, request_for, monkeypatch, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "slow")
    monkeypatch.setenv("K8SGPT_STANDIN_PIDFILE", str(pidfile))
    started = time.monotonic()
    result = _adviser(make_settings).advise(request_for(), 1.0)
    assert time.monotonic() - started < 4
    assert result.status is AdviceStatus.timeout
    assert survivors(pidfile) == []


def test_a_missing_binary_is_unavailable(make_settings, request_for, tmp_path: Path) -> None:
    result = _adviser(make_settings, binary=str(tmp_path / "k8sgpt")).advise(request_for(), 20)
    assert result.status is AdviceStatus.unavailable
    assert "not found or not executable" in result.detail
