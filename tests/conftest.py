"""Shared fixtures: a real redis-server per session, flushed around each test that uses it; the session-wide
check that no redis-server started by the tests outlives the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.support.leaks import pytest_sessionfinish, pytest_sessionstart
from tests.support.rule_fixtures import make_rule, rule_data, rule_dir  # noqa: F401 - fixtures
from tests.support.servers import RedisServer, running_redis

# The session-wide leak check (tests/support/leaks.py): the run fails if a redis-server a test started
# outlives the session. Its hooks run here as this conftest's own.
__all__ = ["pytest_sessionfinish", "pytest_sessionstart"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def scrape_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Prometheus scraping the fixed port that pipeline tests start their sandbox on."""
    from tests.support.pipeline import start_scrape_slot

    slot = start_scrape_slot(tmp_path_factory.mktemp("prometheus"))
    yield slot
    slot.prometheus.stop()


@pytest.fixture
def redis_conn(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
