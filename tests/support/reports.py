"""Helpers for tests of the weekly reports: a fixed Monday, tokens, a context on a generated cluster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from receiver.auth import TokenBook
from rules.registry import RuleRegistry
from sandbox.server import SandboxCluster
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context

ROOT = Path(__file__).resolve().parents[2]


MONDAY = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)


TOKENS = {"viewer": "viewer-token-0123456789", "approver": "approver-token-0123456789"}


DEAD_PROMETHEUS = "http://127.0.0.1:9"


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


class Clock:
    """A clock a test moves by hand; the sandbox and the context share it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Env:
    cluster: SandboxCluster
    context: Context
    clock: Clock
    app: Any

    @property
    def client(self) -> Any:
        return self.app.test_client()


def make_context(
    redis_conn: redis.Redis,
    clock: Callable[[], dt.datetime],
    kube: Callable[[], Any],
    prometheus_url: str = DEAD_PROMETHEUS,
    extra: dict[str, Any] | None = None,
    rules_dir: Path | None = None,
) -> Context:
    settings = Settings.model_validate(
        {
            "prometheus": {"url": prometheus_url, "timeout_s": 5},
            "notify": {"sinks": [{"type": "log"}], "public_url": "https://aiops.example.com"},
            **(extra or {}),
        }
    )
    rules = RuleRegistry(rules_dir or DEFAULT_RULES_DIR)
    return Context(settings=settings, redis=redis_conn, rules=rules, clock=clock, kube_factory=kube)


def tokens() -> TokenBook:
    return TokenBook(
        [{"name": f"{role}-user", "role": role, "token": token} for role, token in TOKENS.items()]
    )
