"""Counters kept in Redis so that every receiver replica and worker reports the same totals."""

from __future__ import annotations

from typing import Any

import redis

from workers.connections import as_text

KEY = "aiops:counters"


def counter_field(name: str, **labels: str) -> str:
    if not labels:
        return name
    inner = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    return f"{name}|{inner}"


def increment(connection: Any, name: str, amount: int = 1, **labels: str) -> None:
    """Add ``amount`` to a counter; ``connection`` may be a pipeline."""
    connection.hincrby(KEY, counter_field(name, **labels), amount)


def read_all(connection: redis.Redis) -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
    """Every counter as {(name, ((label, value), ...)): total}."""
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    for raw_field, raw_value in connection.hgetall(KEY).items():
        name, _, inner = as_text(raw_field).partition("|")
        pairs = [pair.split("=", 1) for pair in inner.split(",")] if inner else []
        totals[(name, tuple((key, value) for key, value in pairs))] = int(raw_value)
    return totals
