"""Counters kept in Redis so that every receiver replica and worker reports the same totals, and the store's
memory use (Redis's own figures and the audit records' share) for /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from workers.integrations.redis.connection import as_text
from workers.spine import records

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


USAGE_KEY = "aiops:usage:records"
_MEMORY_BATCH = 500


@dataclass(frozen=True)
class StoreUsage:
    """What the store holds: Redis's own memory figures and the audit records' share of them."""

    used_memory_bytes: int
    maxmemory_bytes: int
    """0 when Redis has no ``maxmemory``."""
    records: int
    record_bytes: int


def store_usage(connection: redis.Redis, max_age_s: int = 60) -> StoreUsage:
    """Redis memory (INFO memory, on every call) and the records' count and size (MEMORY USAGE of their keys).

    The records are measured by a SCAN of their keys, at most once per ``max_age_s`` across every replica
    (the figures are kept in Redis meanwhile), so that scrapes stay cheap however many records there are.
    """
    memory: Any = connection.info("memory")
    cached = {as_text(key): int(value) for key, value in connection.hgetall(USAGE_KEY).items()}
    if "records" in cached and "bytes" in cached:
        count, size = cached["records"], cached["bytes"]
    else:
        count, size = _measure_records(connection)
        pipe = connection.pipeline()
        pipe.hset(USAGE_KEY, mapping={"records": count, "bytes": size})
        pipe.expire(USAGE_KEY, max_age_s)
        pipe.execute()
    return StoreUsage(
        used_memory_bytes=int(memory.get("used_memory", 0)),
        maxmemory_bytes=int(memory.get("maxmemory", 0)),
        records=count,
        record_bytes=size,
    )


def _measure_records(connection: redis.Redis) -> tuple[int, int]:
    prefix = records.PREFIX
    ids: set[str] = set()
    size = 0
    batch: list[Any] = []

    def flush() -> int:
        pipe = connection.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key)
        batch.clear()
        return sum(int(value or 0) for value in pipe.execute())

    for key in connection.scan_iter(match=prefix + "*", count=1000):
        ids.add(as_text(key)[len(prefix) :].split(":", 1)[0])
        batch.append(key)
        if len(batch) >= _MEMORY_BATCH:
            size += flush()
    if batch:
        size += flush()
    return len(ids), size
