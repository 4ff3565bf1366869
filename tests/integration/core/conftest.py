"""Fixtures for the core loop: a context on the real Redis, the default rules, and the receiver app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from receiver.app import create_app
from rules.registry import RuleRegistry
from tests.support.receiver_api import token_book
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context


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
