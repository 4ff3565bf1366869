"""kubectl-ai through its stand-in: the exact argument list, stdin, redaction, outcomes and timeouts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.standins import KUBECTL_AI
from tests.standins.incident import PLANTED
from tests.standins.processes import survivors
from workers.integrations.advisers.base import AdviceRequest, AdviceStatus
from workers.integrations.advisers.kubectl_ai import KubectlAiAdviser
from workers.settings import Settings


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict]:
    path = tmp_path / "kubectl-ai.json"
    monkeypatch.setenv("KUBECTL_AI_STANDIN_RECORD", str(path))
    return lambda: json.loads(path.read_text())


def _adviser(make_settings: Callable[..., Settings], **section: object) -> KubectlAiAdviser:
    return KubectlAiAdviser(make_settings(kubectl_ai={"enabled": True, **section}).advisers.kubectl_ai)


def test_argument_list_stdin_and_redaction(
    make_settings, request_for, kubeconfig: Path, recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", "answer")
    adviser = _adviser(make_settings, llm_provider="openai", model="gpt-4.1", max_iterations=5)
    request: AdviceRequest = request_for()
    result = adviser.advise(request, 20)
    sent = recorded()
    assert sent["argv"] == [
        "--quiet",
        "--llm-provider",
        "openai",
        "--model",
        "gpt-4.1",
        "--max-iterations",
        "5",
        "--kubeconfig",
        str(kubeconfig),
        request.question,
    ]
    assert "--skip-permissions" not in sent["argv"]
    assert sent["stdin"] == request.context
    assert "## Previous log of container app" in sent["stdin"]
    for secret in PLANTED:
        assert secret not in sent["query"]
    assert result.status is AdviceStatus.ok
    assert result.summary.startswith("The container `app` is being OOMKilled")
    assert "ran (read-only): kubectl get pods -n shop" in result.findings
    assert [(rec.risk, rec.action) for rec in result.recommendations] == [
        ("read", None),
        ("mutating", "raise-memory-limit"),
    ]
    assert result.question == request.prompt and result.duration_s > 0


def test_model_is_omitted_when_not_configured(make_settings, request_for, recorded) -> None:
    _adviser(make_settings).advise(request_for(), 20)
    argv = recorded()["argv"]
    assert "--model" not in argv
    assert argv[:5] == ["--quiet", "--llm-provider", "gemini", "--max-iterations", "10"]


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("max-iterations", "kubectl-ai gave up: Maximum number of iterations reached. (--max-iterations 10)"),
        ("empty", "kubectl-ai gave up: Empty response from LLM"),
        ("crash", "kubectl-ai exited with 1: Error: creating llm client: GEMINI_API_KEY"),
    ],
)
def test_failures_despite_or_by_exit_code(
    make_settings, request_for, monkeypatch, mode: str, detail: str
) -> None:
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", mode)
    result = _adviser(make_settings).advise(request_for(), 20)
    assert result.status is AdviceStatus.error
    assert result.detail.startswith(detail)


def test_a_permission_request_is_a_mutating_recommendation(
    make_settings, request_for, monkeypatch, recorded
) -> None:
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", "permission")
    result = _adviser(make_settings).advise(request_for(), 20)
    assert result.status is AdviceStatus.ok
    assert [(rec.command, rec.risk, rec.action) for rec in result.recommendations] == [
        ("kubectl rollout undo deployment/checkout -n shop", "mutating", "rollback-deployment"),
        ("kubectl delete pod checkout-7d9f-abcde -n shop", "mutating", "restart-pod"),
    ]
    assert "were not run" in result.summary
    assert "--skip-permissions" not in recorded()["argv"]


def test_the_mode_can_be_picked_by_the_question_text(make_settings, incident, monkeypatch) -> None:
    from workers.integrations.advisers.prompt import build_request

    monkeypatch.delenv("KUBECTL_AI_STANDIN_MODE", raising=False)
    incident["alert"]["annotations"]["description"] = "standin:max-iterations"
    request = build_request(
        incident["alert"], incident["target"], incident["evidence"], incident["diagnosis"], 8192
    )
    assert _adviser(make_settings).advise(request, 20).status is AdviceStatus.error


def test_timeout_kills_the_process_group(make_settings, request_for, monkeypatch, tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    monkeypatch.setenv("KUBECTL_AI_STANDIN_MODE", "slow")
    monkeypatch.setenv("KUBECTL_AI_STANDIN_PIDFILE", str(pidfile))
    started = time.monotonic()
    result = _adviser(make_settings).advise(request_for(), 1.0)
    assert time.monotonic() - started < 4
    assert result.status is AdviceStatus.timeout
    assert "process group was killed" in result.detail
    assert survivors(pidfile) == [], "the stand-in or its grandchild survived the timeout"


def test_refuses_to_run_without_a_read_only_kubeconfig(make_settings, request_for, recorded) -> None:
    settings = Settings.model_validate(
        {"advisers": {"kubectl_ai": {"enabled": True, "binary": str(KUBECTL_AI)}}}
    )
    adviser = KubectlAiAdviser(settings.advisers.kubectl_ai)
    assert adviser.probe() is False
    result = adviser.advise(request_for(), 20)
    assert result.status is AdviceStatus.unavailable
    assert "no read-only kubeconfig configured (advisers.kubectl_ai.kubeconfig)" in result.detail
    with pytest.raises(FileNotFoundError):
        recorded()  # the stand-in never ran


def test_a_missing_kubeconfig_file_or_binary_is_unavailable(
    make_settings, request_for, tmp_path: Path
) -> None:
    gone = _adviser(make_settings, kubeconfig=str(tmp_path / "nope"))
    assert gone.advise(request_for(), 20).status is AdviceStatus.unavailable
    missing = _adviser(make_settings, binary=str(tmp_path / "kubectl-ai"))
    result = missing.advise(request_for(), 20)
    assert result.status is AdviceStatus.unavailable and "not found or not executable" in result.detail
