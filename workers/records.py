"""Audit records: one append-only log per investigation (the operations log, or PHR).

Entries live in a Redis list and are also written as one JSON log line each, so the cluster's log
pipeline keeps a durable copy even if Redis is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis

from workers.errors import NotFound

PREFIX = "aiops:record:"
audit_log = logging.getLogger("aiops.audit")


def record_id_for(proposal_or_investigation_id: str) -> str:
    return "r-" + proposal_or_investigation_id.split("-", 1)[-1]


class RecordStore:
    """Append entries to, and read, audit records."""

    def __init__(self, connection: redis.Redis, clock: Callable[[], datetime], retention_s: int) -> None:
        self.redis = connection
        self.clock = clock
        self.retention_s = retention_s

    def open(self, record_id: str, meta: dict[str, Any]) -> None:
        """Create the record's metadata once; later calls leave it as it is."""
        key = PREFIX + record_id + ":meta"
        if self.redis.hsetnx(key, "doc", json.dumps({"id": record_id, **meta}, default=str)):
            self.redis.expire(key, self.retention_s)

    def set_meta(self, record_id: str, **fields: Any) -> None:
        key = PREFIX + record_id + ":meta"
        raw = self.redis.hget(key, "doc")
        doc = json.loads(raw) if raw else {"id": record_id}
        doc.update(fields)
        self.redis.hset(key, "doc", json.dumps(doc, default=str))
        self.redis.expire(key, self.retention_s)

    def append(self, record_id: str, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one entry; returns it as stored."""
        entry = {"at": self.clock().isoformat(), "kind": kind, "data": data or {}}
        key = PREFIX + record_id
        pipe = self.redis.pipeline()
        pipe.rpush(key, json.dumps(entry, default=str))
        pipe.expire(key, self.retention_s)
        length = pipe.execute()[0]
        entry["seq"] = length
        audit_log.info(json.dumps({"record": record_id, **entry}, default=str))
        return entry

    def exists(self, record_id: str) -> bool:
        return bool(self.redis.exists(PREFIX + record_id + ":meta") or self.redis.exists(PREFIX + record_id))

    def get(self, record_id: str) -> dict[str, Any]:
        if not self.exists(record_id):
            raise NotFound(f"no record {record_id}")
        raw_meta = self.redis.hget(PREFIX + record_id + ":meta", "doc")
        meta = json.loads(raw_meta) if raw_meta else {"id": record_id}
        entries = []
        for seq, raw in enumerate(self.redis.lrange(PREFIX + record_id, 0, -1), start=1):
            entry = json.loads(raw)
            entry["seq"] = seq
            entries.append(entry)
        return {**meta, "entries": entries}

    def kinds(self, record_id: str) -> list[str]:
        return [json.loads(raw)["kind"] for raw in self.redis.lrange(PREFIX + record_id, 0, -1)]


def render_markdown(record: dict[str, Any]) -> str:
    """A readable operations log of ``record``."""
    lines = [f"# Operations log {record['id']}", ""]
    for key in ("rule", "alertname", "target", "proposal_id", "created_at"):
        if record.get(key):
            value = record[key]
            if isinstance(value, dict):
                value = "/".join(str(value.get(part, "")) for part in ("kind", "namespace", "name"))
            lines.append(f"- **{key.replace('_', ' ')}**: {value}")
    lines.append("")
    for entry in record.get("entries", []):
        lines.append(f"## {entry['seq']}. {entry['kind'].replace('_', ' ')} — {entry['at']}")
        lines.append("")
        data = entry.get("data") or {}
        for key, value in data.items():
            if isinstance(value, dict | list):
                lines.append(f"- **{key}**:")
                lines.append("")
                lines.append("  ```json")
                lines.extend("  " + row for row in json.dumps(value, indent=2, default=str).splitlines())
                lines.append("  ```")
            else:
                text = str(value)
                if "\n" in text:
                    lines.append(f"- **{key}**:")
                    lines.append("")
                    lines.append("  ```")
                    lines.extend("  " + row for row in text.splitlines())
                    lines.append("  ```")
                else:
                    lines.append(f"- **{key}**: {text}")
        lines.append("")
    return "\n".join(lines)
