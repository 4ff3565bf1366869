"""Connections to the outside: Redis (or the shared embedded one), Kubernetes and Prometheus clients."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis

from workers.errors import SettingsError
from workers.settings import PrometheusSettings, RedisSettings, default_embedded_dir

if TYPE_CHECKING:
    from workers.integrations.prometheus.client import Prometheus

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


def prometheus_client(settings: PrometheusSettings) -> Prometheus:
    """A ``PrometheusConnect`` for ``settings``, with its timeout and optional bearer token."""
    from prometheus_api_client import PrometheusConnect

    headers = None
    if settings.bearer_token_file:
        token = settings.bearer_token_file.read_text(encoding="utf-8").strip()
        headers = {"Authorization": f"Bearer {token}"}
    from urllib3.util.retry import Retry

    # The package exports the class through a module __getattr__, so mypy sees Any here: the annotation
    # is where the client gets its type (workers.integrations.prometheus.client).
    client: Prometheus = PrometheusConnect(
        url=settings.url.rstrip("/"),
        headers=headers,
        disable_ssl=not settings.verify_tls,
        # One quick retry: an unreachable Prometheus must cost an investigation a moment, not the
        # library's default of three retries with exponential backoff (about 6 s per query).
        retry=Retry(total=1, backoff_factor=0.1, status_forcelist=[429, 502, 503, 504]),
        timeout=settings.timeout_s,
    )
    return client
