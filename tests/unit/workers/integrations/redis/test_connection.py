"""Sentinel URLs: what they name, and the errors a wrong one gets (no server is needed to build a client)."""

from __future__ import annotations

import pytest
from redis.sentinel import SentinelConnectionPool

from workers.errors import SettingsError
from workers.integrations.redis.connection import connect_redis, redis_url_of, sentinel_client
from workers.settings import RedisSettings


def test_a_sentinel_url_names_every_sentinel_the_service_the_db_and_the_passwords() -> None:
    url = "redis+sentinel://:s3cret@10.0.0.1:26379,[::1]:26380/aiops/2?sentinel_password=watch"
    client = sentinel_client(url)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "aiops"
    assert pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "s3cret"
    sentinels = pool.sentinel_manager.sentinels
    assert [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ] == [("10.0.0.1", 26379), ("::1", 26380)]
    assert all(s.connection_pool.connection_kwargs["password"] == "watch" for s in sentinels)
    assert redis_url_of(client) == url  # another process reaches the same primary


def test_connect_redis_takes_the_sentinel_scheme_from_the_settings() -> None:
    client = connect_redis(RedisSettings(url="redis+sentinel://127.0.0.1:26379/aiops"))
    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.connection_kwargs["db"] == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://127.0.0.1/aiops", "is not host:port"),
        ("redis+sentinel://127.0.0.1:26379", "/<service name>[/<db number>]"),
        ("redis+sentinel://127.0.0.1:26379/aiops/zero", "/<service name>[/<db number>]"),
    ],
)
def test_a_wrong_sentinel_url_is_a_settings_error_naming_the_setting(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        connect_redis(RedisSettings(url=url))
    assert "redis.url" in str(raised.value) and message in str(raised.value)


def test_a_pinned_client_shares_its_pools_identity_for_the_caches(redis_conn) -> None:
    """Per-pool caches (the intake's script and memory) must not grow by one entry per pinned request."""
    from workers.integrations.redis.connection import pinned, pool_identity

    with pinned(redis_conn) as one, pinned(redis_conn) as other:
        assert pool_identity(one) == pool_identity(other) == pool_identity(redis_conn)
        assert one.ping()
