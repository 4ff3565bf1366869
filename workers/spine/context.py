"""The context jobs and views run with: settings, Redis, stores, rules, cluster and Prometheus clients.

Built once at start-up and passed in, so a test can hand over a fresh Redis, a sandbox cluster or a
fixed clock without patching anything. RQ jobs reach the worker's context through ``current()``,
set once when the worker process starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

import redis

from rules.registry import RuleRegistry
from workers.clock import utc_now
from workers.integrations.prometheus.client import prometheus_client
from workers.integrations.redis.connection import connect_redis
from workers.settings import Settings
from workers.spine.proposals import ProposalStore
from workers.spine.records import RecordStore
from workers.spine.registry import Registry, default_registry

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube
    from workers.integrations.prometheus.client import Prometheus


@dataclass
class Context:
    """Everything a job or a view needs, built once and handed over."""

    settings: Settings
    redis: redis.Redis
    rules: RuleRegistry
    clock: Callable[[], datetime] = utc_now
    kube_factory: Callable[[], Kube] | None = None
    prometheus_factory: Callable[[], Prometheus] | None = None
    workflows: Registry = field(default_factory=default_registry)
    """The workflows and their actions (``workers.spine.registry``)."""

    @cached_property
    def proposals(self) -> ProposalStore:
        return ProposalStore(self.redis, self.clock, self.settings.proposals.retention_days * 86400)

    @cached_property
    def records(self) -> RecordStore:
        return RecordStore(self.redis, self.clock, self.settings.proposals.retention_days * 86400)

    @cached_property
    def kube(self) -> Kube:
        """The cluster facade (``workers.integrations.kubernetes.client.Kube``), created on first use."""
        if self.kube_factory is not None:
            return self.kube_factory()
        from workers.integrations.kubernetes.client import Kube, api_client_from_settings

        return Kube(api_client_from_settings(self.settings.kubernetes), self.settings.kubernetes.timeout_s)

    @cached_property
    def prometheus(self) -> Prometheus:
        if self.prometheus_factory is not None:
            return self.prometheus_factory()
        return prometheus_client(self.settings.prometheus)


def build_context(
    settings: Settings, connection: redis.Redis | None = None, poll_rules: bool = False
) -> Context:
    """The production context: connect Redis (or embedded), load rules (keeping last good on reload)."""
    registry = RuleRegistry(settings.rules.dir)
    if poll_rules and settings.rules.reload_interval_s > 0:
        registry.start_polling(settings.rules.reload_interval_s)
    return Context(settings=settings, redis=connection or connect_redis(settings.redis), rules=registry)


_current: Context | None = None


def install(context: Context) -> None:
    """Make ``context`` the one RQ jobs in this process run with."""
    global _current  # noqa: PLW0603 - the single hand-over point between RQ and our jobs
    _current = context


def current() -> Context:
    if _current is None:
        raise RuntimeError("no worker context installed: start jobs through `aiops worker`")
    return _current
