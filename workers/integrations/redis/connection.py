"""The Redis connection: ``REDIS_URL``, or the shared embedded server when it is unset."""

from __future__ import annotations

import logging
from typing import Any

import redis

from workers.errors import SettingsError
from workers.settings import RedisSettings, default_embedded_dir

log = logging.getLogger(__name__)


def as_text(value: Any) -> str:
    """A Redis reply as text (replies are bytes unless the client decodes them)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def connect_redis(settings: RedisSettings) -> redis.Redis:
    """A client for ``settings.url``; with no URL, for the embedded Redis every aiops process shares.

    The embedded server is one per state directory (``settings.embedded_dir``): this process takes a lease
    on it, starting it if none runs, and gives the lease back at exit (see
    ``workers.integrations.redis.embedded``).
    """
    if settings.url:
        try:
            return redis.Redis.from_url(settings.url, socket_connect_timeout=5, socket_timeout=10)
        except ValueError as exc:
            raise SettingsError(f"setting redis.url (env REDIS_URL): {exc}") from exc
    from workers.integrations.redis import embedded

    lease = embedded.acquire(settings.embedded_dir or default_embedded_dir())
    log.warning(
        "REDIS_URL is not set: using the embedded Redis of %s, shared by every aiops process using that "
        "state directory (not for production)",
        lease.state_dir,
    )
    return redis.Redis(unix_socket_path=str(lease.socket), socket_connect_timeout=5, socket_timeout=10)


def redis_url_of(client: redis.Redis) -> str:
    """The URL another process can use to reach the same Redis as ``client``."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    auth = f":{kwargs['password']}@" if kwargs.get("password") else ""
    return f"redis://{auth}{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
