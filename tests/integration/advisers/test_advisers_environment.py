"""Adviser CLIs get an allowlisted environment: never the worker's Redis URL, settings, kubeconfig or
in-cluster credentials, only PATH and the like, their provider's keys and their read-only kubeconfig.

The stand-ins record the whole environment they were started with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from workers.integrations.advisers.k8sgpt import K8sgptAdviser
from workers.integrations.advisers.kubectl_ai import KubectlAiAdviser
from workers.settings import Settings

# What a worker pod's environment holds that no adviser may see.
WORKER_ONLY = {
    "REDIS_URL": "redis://:s3cr3t-redis-pass@redis-master:6379/0",
    "AIOPS_CONFIG": "/etc/aiops/config.yaml",
    "AIOPS_TOKENS_FILE": "/etc/aiops/tokens.yaml",
    "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
    "PROMETHEUS_URL": "http://prometheus:9090",
}


@pytest.fixture
def worker_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name, value in WORKER_ONLY.items():
        monkeypatch.setenv(name, value)
    worker_kubeconfig = tmp_path / "worker-write.kubeconfig"
    worker_kubeconfig.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(worker_kubeconfig))
    monkeypatch.setenv(
        "GOOGLE_APPLICATION_CREDENTIALS", "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )
    return worker_kubeconfig


def _recorded(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text())["env"])


def _assert_minimal(env: dict[str, str]) -> None:
    for name in WORKER_ONLY:
        assert name not in env, name
    assert not [name for name in env if name.startswith(("AIOPS_", "REDIS_", "KUBERNETES_"))]
    assert "s3cr3t-redis-pass" not in json.dumps(env)
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env  # it pointed at the ServiceAccount token
    assert env["PATH"]


def test_kubectl_ai_gets_path_its_provider_key_and_its_readonly_kubeconfig(
    make_settings: Callable[..., Settings],
    request_for,
    kubeconfig: Path,
    worker_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = tmp_path / "kubectl-ai.json"
    monkeypatch.setenv("KUBECTL_AI_STANDIN_RECORD", str(record))
    monkeypatch.setenv("GEMINI_API_KEY", "AIzaSyD7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2a")
    monkeypatch.setenv("UNRELATED_SECRET", "not-for-advisers")
    adviser = KubectlAiAdviser(make_settings(kubectl_ai={"enabled": True}).advisers.kubectl_ai)
    assert adviser.advise(request_for(), 20).status.value == "ok"
    env = _recorded(record)
    _assert_minimal(env)
    assert env["GEMINI_API_KEY"] == "AIzaSyD7kQ2mZ9xL4vN8pT1sW6yB3cF5hJ0dG2a"
    assert env["KUBECONFIG"] == str(kubeconfig) != str(worker_environment)
    assert "UNRELATED_SECRET" not in env


def test_a_provider_key_that_is_not_set_is_not_invented(
    make_settings: Callable[..., Settings],
    request_for,
    worker_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = tmp_path / "kubectl-ai.json"
    monkeypatch.setenv("KUBECTL_AI_STANDIN_RECORD", str(record))
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1m")
    settings = make_settings(kubectl_ai={"enabled": True, "llm_provider": "openai"})
    KubectlAiAdviser(settings.advisers.kubectl_ai).advise(request_for(), 20)
    env = _recorded(record)
    _assert_minimal(env)
    assert "GEMINI_API_KEY" not in env
    assert env["OPENAI_API_KEY"] == "sk-proj-Qw8rTy2UiOp4AsDf6GhJk9LzXc7VbN1m"


def test_k8sgpt_gets_the_minimal_environment_too(
    make_settings: Callable[..., Settings],
    request_for,
    kubeconfig: Path,
    worker_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = tmp_path / "k8sgpt.json"
    monkeypatch.setenv("K8SGPT_STANDIN_RECORD", str(record))
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "problems")
    settings = make_settings(k8sgpt={"enabled": True, "kubeconfig": str(kubeconfig)})
    K8sgptAdviser(settings.advisers.k8sgpt).advise(request_for(), 20)
    env = _recorded(record)
    _assert_minimal(env)
    assert env["KUBECONFIG"] == str(kubeconfig)


def test_k8sgpt_without_a_kubeconfig_does_not_inherit_the_workers(
    make_settings: Callable[..., Settings],
    request_for,
    worker_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = tmp_path / "k8sgpt.json"
    monkeypatch.setenv("K8SGPT_STANDIN_RECORD", str(record))
    monkeypatch.setenv("K8SGPT_STANDIN_MODE", "problems")
    K8sgptAdviser(make_settings(k8sgpt={"enabled": True}).advisers.k8sgpt).advise(request_for(), 20)
    env = _recorded(record)
    _assert_minimal(env)
    assert "KUBECONFIG" not in env


@pytest.mark.parametrize("name", ["REDIS_URL", "AIOPS_CONFIG", "KUBERNETES_SERVICE_HOST", "KUBECONFIG"])
def test_settings_refuse_to_pass_the_workers_credentials(name: str) -> None:
    with pytest.raises(ValueError, match="may not be passed to an adviser"):
        Settings.model_validate({"advisers": {"kubectl_ai": {"env_passthrough": ["GEMINI_API_KEY", name]}}})
