"""``aiops watch``: a Kubernetes watch on pods that feeds container failures to intake within seconds.

One thread per scope (all namespaces, or each allowed namespace) lists pods to get a resourceVersion,
then watches from it with the official client's ``watch.Watch``: a stream that ends is resumed from the
last resourceVersion seen, 410 Gone lists again, any other failure reconnects after a growing backoff.
The threads only move events; the calling thread turns them into alerts (``watch_state.PodTracker``)
and queues the work through ``intake.ingest`` itself, with no HTTP hop, so that dedup and incident keys
treat a watch alert and Alertmanager's alert about the same container as one incident.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from kubernetes import watch
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException

from workers.errors import SettingsError, StoreUnavailable
from workers.settings import NamespaceSettings
from workers.sources.watch_state import PodTracker
from workers.spine import counters
from workers.spine.context import Context
from workers.spine.intake import ingest

__all__ = ["PodWatcher", "WatchStats", "watch_scopes"]

log = logging.getLogger(__name__)

LIST_PAGE = 500
POLL_S = 0.5
"""How often the calling thread wakes up with no event, to check for stop and due resolutions."""
QUICK_END_S = 0.5
"""A watch request that ends sooner than this with no event is retried after the backoff."""
SWEEP_S = 1.0
"""How often tracked containers are checked for resolutions that came due (at most; not per event)."""


@dataclass
class WatchStats:
    """What one run of the watcher did."""

    events: int = 0
    """Watch events handled, counted once their alerts went to intake (a list's pods are not counted)."""
    alerts: int = 0
    """Alerts handed to intake, firing and resolved."""
    lists: int = 0
    """Full lists: one per scope at start, then one per 410 Gone."""
    errors: int = 0
    """Failed lists or watches, each followed by a backoff."""


@dataclass
class _Cursor:
    scope: str | None
    version: str | None = None

    @property
    def where(self) -> str:
        return f"namespace {self.scope}" if self.scope else "all namespaces"


class _Backoff:
    """Doubling delays from half a second up to ``maximum``, with jitter so replicas do not stampede."""

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum
        self.delay = 0.0

    def next(self) -> float:
        self.delay = min(self.maximum, max(0.5, self.delay * 2))
        return self.delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self.delay = 0.0


def watch_scopes(namespaces: NamespaceSettings, requested: Sequence[str] | None = None) -> list[str | None]:
    """The namespaces to watch: ``requested`` (or the allow list), minus denied ones; ``[None]`` is all.

    Raises ``SettingsError`` when every namespace asked for is denied or outside the allow list.
    """
    chosen = list(dict.fromkeys(requested or namespaces.allow))
    if not chosen:
        return [None]
    if requested and namespaces.allow:
        outside = [name for name in chosen if name not in namespaces.allow]
        if outside:
            log.warning("not watching %s: outside namespaces.allow", ", ".join(outside))
        chosen = [name for name in chosen if name in namespaces.allow]
    denied = [name for name in chosen if name in namespaces.deny]
    if denied:
        log.warning("not watching %s: in namespaces.deny", ", ".join(denied))
    scopes: list[str | None] = [name for name in chosen if name not in namespaces.deny]
    if not scopes:
        raise SettingsError("aiops watch: every namespace asked for is denied or outside namespaces.allow")
    return scopes


class PodWatcher:
    """Watches pods and ingests the alerts their failures make, until ``stop()`` (or ``max_events``)."""

    def __init__(
        self,
        context: Context,
        namespaces: Sequence[str] | None = None,
        *,
        stop: threading.Event | None = None,
        max_events: int | None = None,
    ) -> None:
        self.context = context
        self.settings = context.settings.watch
        self.scopes = watch_scopes(context.settings.namespaces, namespaces)
        self.stopping = stop or threading.Event()
        """Set to stop; ``stop()`` also cuts open watch connections so that it takes effect at once."""
        self.max_events = max_events
        self.ready = threading.Event()
        """Set once every scope is listed and the alerts of those lists are queued."""
        self.stats = WatchStats()
        deny = set(context.settings.namespaces.deny)
        allowed = {scope for scope in self.scopes if scope is not None}
        self.tracker = PodTracker(
            self.settings,
            context.clock,
            wanted=lambda namespace: namespace not in deny and (not allowed or namespace in allowed),
        )
        self._inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._lock = threading.Lock()
        self._streams: set[watch.Watch] = set()
        self._pending: list[dict[str, Any]] = []
        self._retry_at = 0.0
        self._store_backoff = _Backoff(self.settings.backoff_max_s)

    def stop(self) -> None:
        """Stop watching, from another thread. It takes locks: a signal handler sets ``stopping`` instead
        (the calling thread notices within half a second and stops the rest)."""
        self.stopping.set()
        self._inbox.put(("stop",))  # wakes the calling thread at once
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.stop()  # shuts the socket down, so a read blocked on a quiet stream returns now

    def run(self) -> WatchStats:
        """Watch until stopped; returns what was done. Alerts are queued from this thread."""
        try:
            core = self.context.kube.core
        except (ConfigException, OSError) as exc:
            raise SettingsError(
                f"kubernetes: no kubeconfig (KUBECONFIG) or in-cluster account: {exc}"
            ) from exc
        where = ", ".join(s for s in self.scopes if s) or "all namespaces"
        deny = self.context.settings.namespaces.deny
        log.info("watching pods in %s%s", where, f" (not {', '.join(deny)})" if self.scopes == [None] else "")
        threads = [
            threading.Thread(
                target=self._produce,
                args=(core, _Cursor(scope)),
                name=f"watch-pods:{scope or '*'}",
                daemon=True,
            )
            for scope in self.scopes
        ]
        for thread in threads:
            thread.start()
        listed: set[str | None] = set()
        next_sweep = 0.0
        try:
            while not self.stopping.is_set():
                try:
                    item = self._inbox.get(timeout=POLL_S)
                except queue.Empty:
                    item = None
                alerts = self._handle(item, listed) if item is not None else []
                if time.monotonic() >= next_sweep:
                    alerts += self.tracker.sweep()
                    next_sweep = time.monotonic() + SWEEP_S
                self._send(alerts)
                if item is not None and item[0] == "event":
                    self.stats.events += 1
                if len(listed) == len(self.scopes) and not self._pending:
                    self.ready.set()
                if self.max_events is not None and self.stats.events >= self.max_events:
                    break
        finally:
            self.stop()
            for thread in threads:
                thread.join(timeout=2)
        log.info("watch stopped: %s", self.stats)
        return self.stats

    # --- the calling thread: events to alerts to intake ------------------------------------------
    def _handle(self, item: tuple[Any, ...], listed: set[str | None]) -> list[dict[str, Any]]:
        if item[0] == "stop":
            return []
        if item[0] == "list":
            _, scope, pods = item
            self.stats.lists += 1
            if scope in listed:
                self._count("watch_relists_total")
            listed.add(scope)
            return self.tracker.snapshot(scope, pods)
        _, kind, pod = item
        return self.tracker.event(kind, pod)

    def _send(self, alerts: list[dict[str, Any]]) -> None:
        self._pending += alerts
        if not self._pending or time.monotonic() < self._retry_at:
            return
        batch = self._pending
        try:
            result = ingest(self.context, batch)
        except (StoreUnavailable, redis.RedisError) as exc:
            delay = self._store_backoff.next()
            self._retry_at = time.monotonic() + delay
            log.warning("cannot queue %d watch alerts, retrying in %.1fs: %s", len(batch), delay, exc)
            return
        self._pending, self._retry_at = [], 0.0
        self._store_backoff.reset()
        self.stats.alerts += len(batch)
        for alert in batch:
            labels = alert["labels"]
            log.info(
                "watch alert %s %s for %s/%s (%s): %s",
                labels["alertname"],
                alert["status"],
                labels["namespace"],
                labels["pod"],
                labels["container"],
                labels["reason"],
            )
        log.debug("intake of %d watch alerts: %s", len(batch), result.to_dict())
        try:
            with self.context.redis.pipeline(transaction=False) as pipe:
                for alert in batch:
                    counters.increment(
                        pipe,
                        "watch_alerts_total",
                        alertname=alert["labels"]["alertname"],
                        status=alert["status"],
                    )
                pipe.execute()
        except redis.RedisError as exc:  # the alerts are queued; only the tally is short
            log.warning("watch_alerts_total not counted: %s", exc)

    def _count(self, name: str) -> None:
        try:
            counters.increment(self.context.redis, name)
        except redis.RedisError as exc:
            log.warning("%s not counted: %s", name, exc)

    # --- one thread per scope: list, then watch --------------------------------------------------
    def _produce(self, core: CoreV1Api, cursor: _Cursor) -> None:
        backoff = _Backoff(self.settings.backoff_max_s)
        while not self.stopping.is_set():
            try:
                if cursor.version is None:
                    pods, cursor.version = self._list(core, cursor.scope)
                    self._inbox.put(("list", cursor.scope, pods))
                started = time.monotonic()
                if self._stream(core, cursor) or time.monotonic() - started >= QUICK_END_S:
                    backoff.reset()
                else:  # ended at once with nothing: a proxy or server in trouble; do not spin
                    self.stopping.wait(backoff.next())
            except ApiException as exc:
                if self.stopping.is_set():
                    return
                if exc.status == 410:
                    log.info("watch of pods in %s expired (410 Gone): listing again", cursor.where)
                    cursor.version = None
                    continue
                hint = (
                    " (needs list and watch on pods: docs/watch.md#rbac)" if exc.status in (401, 403) else ""
                )
                self._failed(cursor, f"API server answered {exc.status}: {exc.reason}{hint}", backoff)
            except Exception as exc:  # the watch must outlive any one failure
                if self.stopping.is_set():
                    return
                self._failed(cursor, f"{type(exc).__name__}: {exc}", backoff)

    def _failed(self, cursor: _Cursor, detail: str, backoff: _Backoff) -> None:
        delay = backoff.next()
        with self._lock:
            self.stats.errors += 1
        log.warning("watch of pods in %s failed, reconnecting in %.1fs: %s", cursor.where, delay, detail)
        self._count("watch_errors_total")
        self.stopping.wait(delay)

    def _call(
        self, core: CoreV1Api, scope: str | None
    ) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
        if scope is not None:
            return core.list_namespaced_pod, (scope,), {}
        deny = self.context.settings.namespaces.deny
        selector = ",".join(f"metadata.namespace!={name}" for name in deny)
        return core.list_pod_for_all_namespaces, (), ({"field_selector": selector} if selector else {})

    def _list(self, core: CoreV1Api, scope: str | None) -> tuple[list[dict[str, Any]], str]:
        """Every pod of the scope, page by page, and the resourceVersion to watch from."""
        func, args, kwargs = self._call(core, scope)
        timeout = self.context.kube.timeout_s
        pods: list[dict[str, Any]] = []
        version, token = None, None
        while True:
            page_args = {**kwargs, **({"_continue": token} if token else {})}
            response = func(
                *args, limit=LIST_PAGE, _preload_content=False, _request_timeout=timeout, **page_args
            )
            data = json.loads(response.data)
            metadata = data.get("metadata") or {}
            version = version or metadata.get("resourceVersion")
            pods += data.get("items") or []
            token = metadata.get("continue")
            if not token:
                break
        if not version:
            raise ValueError("the pod list carried no resourceVersion")
        return pods, version

    def _stream(self, core: CoreV1Api, cursor: _Cursor) -> int:
        """Watch from ``cursor.version`` until the server ends the request; advances the cursor.

        Returns how many events (bookmarks included) the request delivered.
        """
        func, args, kwargs = self._call(core, cursor.scope)
        received = 0
        stream = watch.Watch(return_type=object)  # events keep the API server's JSON as plain dicts
        with self._lock:
            self._streams.add(stream)
        try:
            if self.stopping.is_set():
                return received
            timeout = self.settings.timeout_s
            for event in stream.stream(
                func,
                *args,
                resource_version=cursor.version,
                timeout_seconds=timeout,
                allow_watch_bookmarks=True,
                _request_timeout=(self.context.kube.timeout_s, timeout + 30),
                **kwargs,
            ):
                received += 1
                obj = event.get("raw_object") or {}
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                    self._inbox.put(("event", event["type"], obj))
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:
                    cursor.version = version
                if self.stopping.is_set():
                    break
        finally:
            with self._lock:
                self._streams.discard(stream)
        return received
