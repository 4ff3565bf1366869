"""Audit records: one append-only log per investigation (the operations log, or PHR).

Entries live in a Redis list and are also written as one JSON log line each, so the cluster's log
pipeline keeps a durable copy even if Redis is lost.
"""

from __future__ import annotations

import builtins
import difflib
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import redis
import yaml

from rules.durations import parse_duration
from workers.errors import NotFound
from workers.integrations.redis.connection import as_text
from workers.redaction import redact_value

PREFIX = "aiops:record:"
audit_log = logging.getLogger("aiops.audit")

# Indexes for listing: record ids scored by creation time, overall, per status and per rule.
INDEX = "aiops:records:index"
STATUS_INDEX = "aiops:records:status:"
RULE_INDEX = "aiops:records:rule:"


class RecordStatus(StrEnum):
    """How far a record's investigation got; see ``STAGES`` for the order and docs/api.md for the words."""

    investigating = "investigating"
    skipped = "skipped"
    target_gone = "target_gone"
    investigation_failed = "investigation_failed"
    proposed = "proposed"
    rejected = "rejected"
    expired = "expired"
    superseded = "superseded"
    approved = "approved"
    executing = "executing"
    succeeded = "succeeded"
    failed = "failed"
    unknown = "unknown"
    validated = "validated"
    regressed = "regressed"


S = RecordStatus
# A record's status never moves back to an earlier stage: an adviser's alternative that expires after the
# main proposal was approved leaves the record "approved". Within a stage the latest entry wins.
STAGES: tuple[frozenset[RecordStatus], ...] = (
    frozenset({S.investigating}),
    frozenset({S.skipped, S.target_gone, S.investigation_failed}),
    frozenset({S.proposed}),
    frozenset({S.rejected, S.expired, S.superseded}),
    frozenset({S.approved}),
    frozenset({S.executing}),
    frozenset({S.succeeded, S.failed, S.unknown}),
    frozenset({S.validated, S.regressed}),
)
STAGE = {status: rank for rank, stage in enumerate(STAGES) for status in stage}
# Entry kinds that set the status by themselves, and kinds whose data names it.
_KIND_STATUS = {
    "skipped": S.skipped,
    "target_gone": S.target_gone,
    "investigation_failed": S.investigation_failed,
    "proposal": S.proposed,
    "expired": S.expired,
    "superseded": S.superseded,
    "execution_started": S.executing,
    "execution_unknown": S.unknown,
}
_DATA_STATUS = {"approval": "decision", "execution_finished": "status", "validation_result": "status"}

# KEYS: meta hash, time index. ARGV: id, status, stage, now, status-index prefix, ttl, cutoff.
_SET_STATUS = """
local held = tonumber(redis.call('HGET', KEYS[1], 'status_stage') or '-1')
if held > tonumber(ARGV[3]) then return 0 end
local old = redis.call('HGET', KEYS[1], 'status')
local score = redis.call('ZSCORE', KEYS[2], ARGV[1]) or ARGV[4]
if old and old ~= ARGV[2] then redis.call('ZREM', ARGV[5] .. old, ARGV[1]) end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'status_stage', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('ZADD', ARGV[5] .. ARGV[2], score, ARGV[1])
redis.call('ZREMRANGEBYSCORE', ARGV[5] .. ARGV[2], '-inf', ARGV[7])
return 1
"""


def status_of(kind: str, data: dict[str, Any]) -> RecordStatus | None:
    """The status an entry of ``kind`` gives its record, or None when the entry does not change it."""
    if kind in _KIND_STATUS:
        return _KIND_STATUS[kind]
    key = _DATA_STATUS.get(kind)
    value = data.get(key) if key else None
    return RecordStatus(value) if isinstance(value, str) and value in RecordStatus.__members__ else None


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``12h``, ``90m`` (that long before ``now``) or an ISO 8601 time (UTC when no offset is given).

    Raises ``ValueError`` saying which forms are accepted.
    """
    text = text.strip()
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"since: {text!r} is neither a duration (e.g. 90m, 12h, 7d) nor an ISO 8601 time "
            "(e.g. 2026-11-25T10:00:00Z)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class RecordStore:
    """Append entries to, and read, audit records."""

    def __init__(self, connection: redis.Redis, clock: Callable[[], datetime], retention_s: int) -> None:
        self.redis = connection
        self.clock = clock
        self.retention_s = retention_s
        self._set_status = connection.register_script(_SET_STATUS)

    def open(self, record_id: str, meta: dict[str, Any]) -> None:
        """Create the record's metadata once; later calls leave it as it is."""
        key = PREFIX + record_id + ":meta"
        if self.redis.hsetnx(key, "doc", json.dumps({"id": record_id, **meta}, default=str)):
            self.redis.expire(key, self.retention_s)
            self._index_new(record_id, meta.get("rule"))

    def set_meta(self, record_id: str, **fields: Any) -> None:
        key = PREFIX + record_id + ":meta"
        raw = self.redis.hget(key, "doc")
        doc = json.loads(raw) if raw else {"id": record_id}
        doc.update(fields)
        self.redis.hset(key, "doc", json.dumps(doc, default=str))
        self.redis.expire(key, self.retention_s)

    def append(self, record_id: str, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one entry, redacted for Redis and the log line (``workers.redaction``); returns it."""
        data = redact_value(data or {})
        entry = {"at": self.clock().isoformat(), "kind": kind, "data": data}
        key = PREFIX + record_id
        pipe = self.redis.pipeline()
        pipe.rpush(key, json.dumps(entry, default=str))
        pipe.expire(key, self.retention_s)
        self._index_entry(pipe, record_id, kind, data)
        length = pipe.execute()[0]
        entry["seq"] = length
        audit_log.info(json.dumps({"record": record_id, **entry}, default=str))
        return entry

    def append_once(
        self, record_id: str, kind: str, data: dict[str, Any], token: str
    ) -> dict[str, Any] | None:
        """``append``, unless an entry with ``token`` is there already (a replayed job: None).

        Another investigation's entry in this record (a sibling pod's alert joining the incident) is
        appended this way, so that a job that runs again does not write it twice.
        """
        data = redact_value(data)
        entry = {"at": self.clock().isoformat(), "kind": kind, "data": data}
        key, once = PREFIX + record_id, PREFIX + record_id + ":once"
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(once)
                    if pipe.sismember(once, token):
                        return None
                    pipe.multi()
                    pipe.sadd(once, token)
                    pipe.expire(once, self.retention_s)
                    pipe.rpush(key, json.dumps(entry, default=str))
                    pipe.expire(key, self.retention_s)
                    self._index_entry(pipe, record_id, kind, data)
                    entry["seq"] = pipe.execute()[2]
                    break
                except redis.WatchError:
                    continue
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
        return {**meta, "status": self.status(record_id), "entries": entries}

    def kinds(self, record_id: str) -> list[str]:
        return [json.loads(raw)["kind"] for raw in self.redis.lrange(PREFIX + record_id, 0, -1)]

    # Listing: the indexes are written in the same pipeline as the entry, and read newest first.

    def _cutoff(self, now: float) -> float:
        return now - self.retention_s

    def _index_new(self, record_id: str, rule: str | None) -> None:
        now = self.clock().timestamp()
        pipe = self.redis.pipeline()
        pipe.zadd(INDEX, {record_id: now}, nx=True)
        pipe.zremrangebyscore(INDEX, "-inf", self._cutoff(now))
        if rule:
            pipe.zadd(RULE_INDEX + rule, {record_id: now}, nx=True)
            pipe.zremrangebyscore(RULE_INDEX + rule, "-inf", self._cutoff(now))
        self._queue_status(pipe, record_id, RecordStatus.investigating, now)
        pipe.execute()

    def _index_entry(self, pipe: Any, record_id: str, kind: str, data: dict[str, Any]) -> None:
        now = self.clock().timestamp()
        pipe.zadd(INDEX, {record_id: now}, nx=True)  # a record appended to without open() is listed too
        status = status_of(kind, data)
        if status is not None:
            self._queue_status(pipe, record_id, status, now)

    def _queue_status(self, pipe: Any, record_id: str, status: RecordStatus, now: float) -> None:
        self._set_status(
            keys=[PREFIX + record_id + ":meta", INDEX],
            args=[
                record_id,
                status.value,
                STAGE[status],
                now,
                STATUS_INDEX,
                self.retention_s,
                self._cutoff(now),
            ],
            client=pipe,
        )

    def status(self, record_id: str) -> RecordStatus | None:
        raw = self.redis.hget(PREFIX + record_id + ":meta", "status")
        return RecordStatus(as_text(raw)) if raw else None

    def list(
        self,
        status: RecordStatus | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> builtins.list[dict[str, Any]]:
        """Summaries of the records created since ``since`` (within retention), newest first, filtered."""
        key = STATUS_INDEX + status if status else RULE_INDEX + rule if rule else INDEX
        floor = self._cutoff(self.clock().timestamp())
        if since is not None:
            floor = max(floor, since.timestamp())
        items: list[dict[str, Any]] = []
        offset, batch = 0, max(limit, 50)
        while len(items) < limit:
            # redis-py types every reply as ``Awaitable | Any`` (one signature for sync and async clients).
            found = cast(
                list[tuple[bytes, float]],
                self.redis.zrevrangebyscore(key, "+inf", floor, start=offset, num=batch, withscores=True),
            )
            if not found:
                break
            offset += len(found)
            ids = [as_text(raw) for raw, _ in found]
            pipe = self.redis.pipeline(transaction=False)
            for record_id in ids:
                pipe.hmget(PREFIX + record_id + ":meta", ["doc", "status"])
                pipe.llen(PREFIX + record_id)
                pipe.lindex(PREFIX + record_id, -1)
            answers = pipe.execute()
            for index, record_id in enumerate(ids):
                (doc, current), length, last = answers[3 * index : 3 * index + 3]
                if doc is None and not length:
                    continue  # expired; the index entry goes when its score falls out of retention
                summary = _summary(record_id, doc, current, length, last, found[index][1])
                if (status and summary["status"] != status) or (rule and summary["rule"] != rule):
                    continue
                items.append(summary)
        return items[:limit]


def _summary(
    record_id: str, doc: Any, status: Any, length: int, last: Any, created: float | None
) -> dict[str, Any]:
    meta = json.loads(doc) if doc else {}
    last_entry = json.loads(last) if last else {}
    return {
        "id": record_id,
        "status": as_text(status) if status else None,
        "rule": meta.get("rule"),
        "alertname": meta.get("alertname"),
        "target": meta.get("target"),
        "proposal_id": meta.get("proposal_id"),
        "created_at": meta.get("created_at")
        or (datetime.fromtimestamp(created, UTC).isoformat() if created is not None else None),
        "updated_at": last_entry.get("at"),
        "last_kind": last_entry.get("kind"),
        "entries": length,
    }


# --- markdown -----------------------------------------------------------------------------------------
# Data is printed as YAML, each block in a code fence longer than any backtick run inside it (the
# CommonMark rule), so no text an alert or an adviser wrote can close its block or start a heading.
# A large object is printed once: a repeat names where it was shown, and one that differs from an
# earlier object in a few lines is printed as that difference.

LARGE_LINES = 10
"""Objects whose YAML has at least this many lines are printed once and then referred to."""


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (PyYAML falls back to quoting where a block cannot hold them)."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def _yaml(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6
    ).rstrip("\n")


def _fenced(text: str, info: str = "") -> list[str]:
    """``text`` as a fenced code block inside a list item (indented two spaces)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["  " + fence + info, *("  " + row for row in text.splitlines()), "  " + fence]


def _inline(value: Any) -> str:
    """``value`` on one line: any line break would let the text start a block of its own."""
    return " ".join(str(value).splitlines())


class _Shown:
    """The large objects already printed in one log, so that a repeat can refer to the first."""

    def __init__(self) -> None:
        self.exact: dict[str, str] = {}
        self.blocks: list[tuple[str, str, Any, list[str]]] = []  # path, where, object, its YAML lines

    def compact(self, value: Any, path: str, entry: str) -> Any:
        """``value`` (found at ``path`` in ``entry``) with each large object already shown replaced by
        a reference to it, or by its difference from a similar one."""
        if not isinstance(value, dict | list):
            return value
        lines = _yaml(value).splitlines()
        if len(lines) >= LARGE_LINES:
            canonical = json.dumps(value, sort_keys=True)
            if canonical in self.exact:
                return f"(same as {self.exact[canonical]})"
            difference = self._difference(value, lines, path, entry)
            if difference is not None:
                return difference
            self.exact[canonical] = f"{path} in {entry}"
            self.blocks.append((path, entry, value, lines))
        if isinstance(value, dict):
            return {key: self.compact(item, f"{path}.{key}", entry) for key, item in value.items()}
        return [self.compact(item, f"{path}[{index}]", entry) for index, item in enumerate(value)]

    def _difference(self, value: Any, lines: list[str], path: str, entry: str) -> str | None:
        for shown_path, shown_entry, other, other_lines in reversed(self.blocks):
            if shown_entry == entry and (path + ".").startswith((shown_path + ".", shown_path + "[")):
                continue  # never against an object that contains this one
            if type(other) is not type(value):
                continue
            if isinstance(value, dict) and set(value) != set(other):
                continue
            if isinstance(value, list) and len(value) != len(other):
                continue
            diff = list(difflib.unified_diff(other_lines, lines, lineterm="", n=2))[2:]
            if diff and 2 * len(diff) <= len(lines):
                return "\n".join([f"(as {shown_path} in {shown_entry}, except:)", *diff])
        return None


def render_markdown(record: dict[str, Any]) -> str:
    """A readable operations log of ``record``: its metadata, then one section per entry."""
    lines = [f"# Operations log {_inline(record['id'])}", ""]
    for key in ("rule", "alertname", "target", "status", "proposal_id", "created_at"):
        if record.get(key):
            value = record[key]
            if isinstance(value, dict):
                value = "/".join(str(value.get(part, "")) for part in ("kind", "namespace", "name"))
            lines.append(f"- **{key.replace('_', ' ')}**: {_inline(value)}")
    lines.append("")
    shown = _Shown()
    for entry in record.get("entries", []):
        kind = _inline(entry["kind"]).replace("_", " ")
        lines.append(f"## {entry['seq']}. {kind} — {_inline(entry['at'])}")
        lines.append("")
        data = json.loads(json.dumps(entry.get("data") or {}, default=str))  # plain JSON types for YAML
        for key, raw in data.items():
            name = _inline(key)
            value = shown.compact(raw, name, f"entry {entry['seq']} ({kind})")
            if isinstance(value, dict | list):
                lines += [f"- **{name}**:", "", *_fenced(_yaml(value), "yaml")]
                continue
            text = "null" if value is None else str(value)
            if len(text.splitlines()) > 1:
                lines += [f"- **{name}**:", "", *_fenced(text)]
            else:
                lines.append(f"- **{name}**: {text}")
        lines.append("")
    return "\n".join(lines)
