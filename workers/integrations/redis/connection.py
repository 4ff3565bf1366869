"""The Redis connection: ``REDIS_URL``, or the shared embedded server when it is unset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from workers.errors import SettingsError, StoreUnavailable
from workers.settings import RedisSettings, default_embedded_dir

log = logging.getLogger(__name__)

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S = 5, 10


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
            if urlsplit(settings.url).scheme in SENTINEL_SCHEMES:
                return sentinel_client(settings.url)
            return redis.Redis.from_url(
                settings.url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S
            )
        except ValueError as exc:
            raise SettingsError(f"setting redis.url (env REDIS_URL): {exc}") from exc
    from workers.integrations.redis import embedded

    lease = embedded.acquire(settings.embedded_dir or default_embedded_dir())
    log.warning(
        "REDIS_URL is not set: using the embedded Redis of %s, shared by every aiops process using that "
        "state directory (not for production)",
        lease.state_dir,
    )
    return redis.Redis(
        unix_socket_path=str(lease.socket),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
    )


def sentinel_client(url: str) -> redis.Redis:
    """The current primary of a Sentinel-monitored Redis, followed across failovers.

    ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db][?sentinel_password=...]``
    (``rediss+sentinel`` for TLS to the data nodes). Every connection asks the sentinels for the primary
    when it (re)connects, and a reply from a demoted primary (READONLY) drops the connection, so the
    receiver, the workers, RQ and its scheduler follow a failover by themselves; a command that meets
    the switch is retried with backoff for about 1.5 s before the caller sees ``ConnectionError``.
    """
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":") if userinfo else ("", "", "")
    hosts = []
    for item in hostlist.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"sentinel address {item!r} is not host:port")
        hosts.append((host.strip("[]"), int(port)))
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("a sentinel URL's path is /<service name>[/<db number>]")
    query = parse_qs(parts.query)
    sentinel_password = next(iter(query.get("sentinel_password") or []), None)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel untyped
        hosts,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        sentinel_kwargs={
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_timeout": SOCKET_TIMEOUT_S,
            "password": sentinel_password,
        },
    )
    # About 1.5 s of retries: a request rides out a short blip; a real failover (down-after-milliseconds,
    # 30 s by default) answers 503 and the sender retries, deduplicated.
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.1), 4)
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        path[0],
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=parts.scheme.startswith("rediss"),
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    _SENTINEL_URLS[id(client.connection_pool)] = url
    return client


_SENTINEL_URLS: dict[int, str] = {}
"""The URL each sentinel pool was made from, for ``redis_url_of`` (pools live as long as the process)."""


def redis_url_of(client: redis.Redis) -> str:
    """The URL another process can use to reach the same Redis as ``client``."""
    if isinstance(client.connection_pool, SentinelConnectionPool):
        return _SENTINEL_URLS[id(client.connection_pool)]
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    auth = f":{kwargs['password']}@" if kwargs.get("password") else ""
    return f"redis://{auth}{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


class _OneConnection(redis.ConnectionPool):
    """A pool that hands out one connection taken from a real pool, so that a pipeline and the ``WAIT``
    after it run on the same connection (``WAIT`` counts the replicas that have this connection's writes)."""

    def __init__(self, pool: redis.ConnectionPool, connection: Any) -> None:
        # Deliberately not calling super().__init__: every other attribute is the real pool's.
        self._pool, self._connection = pool, connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        return self._connection

    def release(self, connection: Any) -> None:
        return None

    def get_encoder(self) -> Any:
        return self._pool.get_encoder()

    @property  # type: ignore[misc]
    def connection_kwargs(self) -> dict[str, Any]:
        return dict(self._pool.connection_kwargs)


def pool_identity(client: redis.Redis) -> int:
    """One number per real connection pool, the same for a ``pinned`` client of it (for per-pool caches)."""
    pool = client.connection_pool
    return id(pool._pool if isinstance(pool, _OneConnection) else pool)


@contextmanager
def pinned(client: redis.Redis) -> Iterator[redis.Redis]:
    """A client for ``client``'s Redis whose every command, pipelines included, uses one connection."""
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        yield redis.Redis(connection_pool=_OneConnection(pool, connection))
    finally:
        pool.release(connection)


def wait_for_replicas(client: redis.Redis, replicas: int, timeout_ms: int) -> None:
    """Block until ``replicas`` replicas hold this connection's writes; ``StoreUnavailable`` when fewer
    acknowledged within ``timeout_ms`` (the caller answers 503; the writes stay on the primary)."""
    if replicas <= 0:
        return
    acked = int(client.execute_command("WAIT", replicas, timeout_ms))  # type: ignore[no-untyped-call]
    if acked < replicas:
        raise StoreUnavailable(
            f"only {acked} of {replicas} Redis replicas acknowledged the write within {timeout_ms} ms "
            "(redis.min_replicas_ack)"
        )
