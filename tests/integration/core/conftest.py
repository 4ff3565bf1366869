"""Fixtures for the core loop: a context on the real Redis, the default rules, and the receiver app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from receiver.app import create_app
from receiver.auth import TokenBook
from receiver.payload import alertmanager_payload
from rules.registry import RuleRegistry
from tests.support.pipeline import crash_alert
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context

TOKENS = {
    "approver": "approver-secret-token-1",
    "viewer": "viewer-secret-token-0001",
    "webhook": "webhook-secret-token-001",
}


def token_book() -> TokenBook:
    return TokenBook(
        [{"name": f"{role}-user", "role": role, "token": token} for role, token in TOKENS.items()]
    )


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def alert(
    pod: str = "checkout-7d9f-abcde",
    status: str = "firing",
    starts: str = "2026-11-25T10:00:00Z",
    alertname: str = "KubePodCrashLooping",
    fingerprint: str | None = None,
    namespace: str = "shop",
) -> dict:
    return crash_alert(
        pod, namespace, "app", alertname, starts, status, fingerprint or f"fp-{namespace}-{pod}"
    )


def webhook(*alerts: dict) -> dict:
    return alertmanager_payload(list(alerts))


@pytest.fixture
def settings(redis_server) -> Settings:
    return Settings.model_validate({"redis": {"url": redis_server.url}})


@pytest.fixture
def context(settings: Settings, redis_conn) -> Iterator[Context]:
    yield Context(
        settings=settings,
        redis=redis_conn,
        rules=RuleRegistry(DEFAULT_RULES_DIR),
        clock=lambda: datetime.now(UTC),
    )


@pytest.fixture
def client(context: Context):
    return create_app(context, token_book()).test_client()
