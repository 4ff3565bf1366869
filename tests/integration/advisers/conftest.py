"""Fixtures for adviser tests: settings pointing at the stand-ins, the stand-in servers, the incident."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins import K8SGPT, K8SGPT_STANDIN_ENV, KUBECTL_AI, KUBECTL_AI_STANDIN_ENV
from tests.standins.holmesgpt_server import HolmesStandin
from tests.standins.incident import sample_incident
from tests.standins.kagent_a2a import KagentStandin, MalformedA2AServer
from workers.integrations.advisers.base import AdviceRequest
from workers.integrations.advisers.prompt import build_request
from workers.settings import K8SGPT_ENV, KUBECTL_AI_ENV, Settings


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig file standing for one bound to a read-only role (the stand-ins never read it)."""
    path = tmp_path / "readonly.kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n", encoding="utf-8")
    return path


@pytest.fixture
def make_settings(kubeconfig: Path) -> Callable[..., Settings]:
    """Settings with the given ``advisers`` overrides; the CLI stand-ins are pre-wired when enabled."""

    def make(**advisers: Any) -> Settings:
        config: dict[str, Any] = {"budget_s": 30.0, "breaker_failures": 3, "breaker_cooldown_s": 300}
        for key, value in advisers.items():
            config[key] = value
        # The stand-ins are steered by variables of their own, which advisers get only when passed through.
        defaults = {
            "kubectl_ai": {
                "binary": str(KUBECTL_AI),
                "kubeconfig": str(kubeconfig),
                "env_passthrough": [*KUBECTL_AI_ENV, *KUBECTL_AI_STANDIN_ENV],
            },
            "k8sgpt": {"binary": str(K8SGPT), "env_passthrough": [*K8SGPT_ENV, *K8SGPT_STANDIN_ENV]},
        }
        for section, preset in defaults.items():
            if isinstance(config.get(section), dict):
                config[section] = {**preset, **config[section]}
        return Settings.model_validate({"advisers": config})

    return make


@pytest.fixture
def incident() -> dict[str, Any]:
    return sample_incident()


@pytest.fixture
def request_for(incident: dict[str, Any]) -> Callable[[int], AdviceRequest]:
    def build(max_prompt_bytes: int = 16 * 1024) -> AdviceRequest:
        return build_request(
            incident["alert"],
            incident["target"],
            incident["evidence"],
            incident["diagnosis"],
            max_prompt_bytes,
        )

    return build


@pytest.fixture(scope="session")
def kagent_server() -> Iterator[KagentStandin]:
    server = KagentStandin(slow_s=10.0).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def malformed_a2a() -> Iterator[MalformedA2AServer]:
    server = MalformedA2AServer().start()
    yield server
    server.stop()


@pytest.fixture
def holmes() -> Iterator[HolmesStandin]:
    server = HolmesStandin().start()
    yield server
    server.stop()
