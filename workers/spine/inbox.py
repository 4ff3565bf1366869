"""Deferred intake (``alerts.intake: deferred``): receivers append the validated payload to a Redis list in
one round trip and answer; a drain job on the workers deduplicates, matches and queues it (``intake``).

The receiver's work per request is then a parse and one script call, whatever the payload holds, so a
replica serves Alertmanager near a bare endpoint's rate. What the receiver can no longer say at 202 time
is what the payload will make (enqueued, duplicates, unmatched): those counts reach ``/metrics`` and the
drain job's log instead. Every promise else holds: the payload is in Redis (and on ``min_replicas_ack``
replicas) before the 2xx, 503 when Redis is down, and the claim script still makes exactly one
investigation per alert across replicas and re-sends.

One drain job runs at a time (``DRAINER``, a marker the push script sets when it enqueues one). It moves
an entry to ``PROCESSING``, ingests it and removes it, so a worker killed half-way leaves the entry
there; the next drainer puts it back first, and the claim script makes the second ingest a duplicate.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import redis
from rq import Queue

from workers.errors import StoreUnavailable, TemporaryError
from workers.integrations.redis.connection import pinned, pool_identity, wait_for_replicas
from workers.spine import queues
from workers.spine.alerts import normalised
from workers.spine.context import Context, current
from workers.spine.intake import IntakeResult, alerts_queue, ingest

log = logging.getLogger(__name__)

INBOX = "aiops:intake:inbox"
PROCESSING = "aiops:intake:processing"
DRAINER = "aiops:intake:drainer"
"""The id of the drain job that is queued or running; set with a TTL the running one keeps renewing."""
DRAINS = "aiops:intake:drains"
REJECTED = "aiops:intake:rejected"
"""Entries a drain job could not read (kept, never dropped; a person looks at them)."""

DRAINER_TTL_S = 60
"""A drainer that has not renewed its marker for this long is taken for dead and a new one is started."""
SLICE_S = 5.0
"""A drain job hands over to a new one after this long, so approved actions (checked between jobs) wait
at most one slice behind intake."""
_PLACEHOLDER = "intake-drain-0000000000000000"
_HEADER = b"aiops-intake/1 "

DRAIN_OPTIONS: dict[str, Any] = {**queues.INVESTIGATE_OPTIONS, "job_timeout": 120, "result_ttl": 600}

TEMPLATE = "aiops:intake:drain-template"
"""RQ's commands that enqueue a drain job, flattened, with ``_PLACEHOLDER`` for its id (``_drain_commands``):
kept in Redis so a push sends only its entry; refreshed when it expires, so its timestamps stay recent."""
TEMPLATE_TTL_S = 60

# Starting a drain job, shared by both scripts: a new id from the counter, the marker, then the template's
# commands with the id in place of the placeholder. ``template`` is the flat list: the number of commands,
# then per command its argument count and arguments.
_START = """
local function start(marker, drains, ttl, placeholder, template)
  local id = string.format('intake-drain-%016d', redis.call('INCR', drains))
  redis.call('SET', marker, id, 'EX', ttl)
  local function swap(text)
    local from, to = string.find(text, placeholder, 1, true)
    if from == nil then
      return text
    end
    return string.sub(text, 1, from - 1) .. id .. string.sub(text, to + 1)
  end
  local at = 2
  for _ = 1, tonumber(template[1]) do
    local argc, command = tonumber(template[at]), {}
    for i = 1, argc do
      command[i] = swap(template[at + i])
    end
    redis.call(unpack(command))
    at = at + argc + 1
  end
end
"""

# ARGV: inbox, marker, drain counter, marker TTL, placeholder, template key, then the entry. Appends it
# and starts a drain job unless one is queued or running. Returns 1 when it started one, 0 when one was
# there, -1 when it should have but the template had expired (the entry is in; the caller sends
# ``START_SCRIPT``).
PUSH_SCRIPT = (
    _START
    + """
redis.call('RPUSH', ARGV[1], ARGV[7])
if redis.call('EXISTS', ARGV[2]) == 1 then
  return 0
end
local template = redis.call('LRANGE', ARGV[6], 0, -1)
if #template == 0 then
  return -1
end
start(ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], template)
return 1
"""
)

# ARGV: marker, drain counter, marker TTL, placeholder, template key, template TTL, then the flat template.
# Stores the template and starts a drain job unless one is queued or running; 1 when it started one.
START_SCRIPT = (
    _START
    + """
local template = {}
for i = 7, #ARGV do
  template[#template + 1] = ARGV[i]
end
redis.call('DEL', ARGV[5])
redis.call('RPUSH', ARGV[5], unpack(template))
redis.call('EXPIRE', ARGV[5], tonumber(ARGV[6]))
if redis.call('EXISTS', ARGV[1]) == 1 then
  return 0
end
start(ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], template)
return 1
"""
)

TAKE = 20
"""Entries a drain job takes and ingests together (at most ``limits.max_alerts_per_payload`` alerts each)."""

# Moves up to ARGV[3] entries from the inbox (ARGV[1]) to the processing list (ARGV[2]), in order, and
# returns them: one round trip per batch.
TAKE_SCRIPT = """
local taken = {}
for _ = 1, tonumber(ARGV[3]) do
  local item = redis.call('LMOVE', ARGV[1], ARGV[2], 'LEFT', 'RIGHT')
  if not item then
    break
  end
  taken[#taken + 1] = item
end
return taken
"""

# Ends the drainer when nothing is left: the marker goes only with an empty inbox, atomically, so a push
# that lands after the drainer's last look finds no marker and enqueues a new one. ARGV: inbox, marker.
RELEASE_SCRIPT = """
if redis.call('LLEN', ARGV[1]) == 0 then
  redis.call('DEL', ARGV[2])
  return 1
end
return 0
"""


def entry(body: bytes, received_at: str) -> bytes:
    return _HEADER + received_at.encode() + b"\n" + body


def read_entry(raw: bytes) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """``(received_at, alerts, envelope)`` of an inbox entry; ``ValueError`` when it is not one."""
    header, newline, body = raw.partition(b"\n")
    if not newline or not header.startswith(_HEADER):
        raise ValueError("not an intake entry")
    received_at = header.removeprefix(_HEADER).decode()
    payload = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("alerts"), list):
        raise ValueError("the entry's payload has no alerts list")
    alerts = [normalised(alert, received_at) for alert in payload["alerts"]]
    envelope = {key: value for key, value in payload.items() if key != "alerts"}
    return received_at, alerts, envelope


def _drain_commands(connection: redis.Redis) -> list[list[bytes]]:
    queue = alerts_queue(connection)  # knows the server's version: no INFO round trip
    pipe = connection.pipeline(transaction=False)
    queue.enqueue_call(
        drain_job, job_id=_PLACEHOLDER, at_front=True, pipeline=pipe, **queues.rq_options(DRAIN_OPTIONS)
    )
    encode: Callable[[Any], bytes] = connection.get_encoder().encode
    commands = [[encode(arg) for arg in args] for args, _ in pipe.command_stack]
    pipe.reset()
    return commands


def _flatten(commands: list[list[bytes]]) -> list[Any]:
    flat: list[Any] = [len(commands)]
    for command in commands:
        flat += [len(command), *command]
    return flat


_SCRIPTS: dict[tuple[int, str], Any] = {}


def _script(connection: redis.Redis, text: str) -> Any:
    key = (pool_identity(connection), text)
    if key not in _SCRIPTS:
        _SCRIPTS[key] = connection.register_script(text)
    return _SCRIPTS[key]


def push(context: Context, body: bytes, received_at: str) -> bool:
    """Append a validated webhook ``body`` to the inbox, and enqueue a drain job if none is queued or
    running. Returns True when it enqueued one; raises ``StoreUnavailable`` if Redis cannot be reached
    or too few replicas acknowledged (``redis.min_replicas_ack``)."""
    return _send(context, entry(body, received_at))


def _send(context: Context, item: bytes) -> bool:
    store = context.settings.redis
    try:
        if store.min_replicas_ack <= 0:
            return _push(context.redis, item)
        # The 2xx promises the payload survives the primary's loss: replicas must hold it first.
        with pinned(context.redis) as connection:
            started = _push(connection, item)
            wait_for_replicas(connection, store.min_replicas_ack, store.replica_ack_timeout_ms)
            return started
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"Redis is unreachable: {exc}") from exc


def _push(connection: redis.Redis, item: bytes) -> bool:
    args = [INBOX, DRAINER, DRAINS, DRAINER_TTL_S, _PLACEHOLDER, TEMPLATE, item]
    started = int(_script(connection, PUSH_SCRIPT)(keys=[], args=args, client=connection))
    if started != -1:
        return started == 1
    # Once a minute at most: the template had expired; the entry is already in.
    template = _flatten(_drain_commands(connection))
    args = [DRAINER, DRAINS, DRAINER_TTL_S, _PLACEHOLDER, TEMPLATE, TEMPLATE_TTL_S, *template]
    return int(_script(connection, START_SCRIPT)(keys=[], args=args, client=connection)) == 1


def backlog(connection: redis.Redis) -> int:
    """Payloads waiting in the inbox or being drained."""
    pipe = connection.pipeline(transaction=False)
    pipe.llen(INBOX)
    pipe.llen(PROCESSING)
    waiting, taken = pipe.execute()
    return int(waiting) + int(taken)


def drain(context: Context, slice_s: float = SLICE_S, take: int = TAKE) -> tuple[int, IntakeResult]:
    """Ingest inbox entries until the inbox is empty (the drainer marker is released) or ``slice_s`` has
    passed (a new drain job is enqueued to go on). Returns the entries ingested and their summed counts.

    Up to ``take`` entries go through intake together (one claim, one fan-out job), so a storm that arrives
    as many small notifications costs the same as one that arrives in one, and its alerts about one
    workload are grouped across notifications."""
    connection = context.redis
    _recover(connection)
    total = IntakeResult()
    done = 0
    ends = time.monotonic() + slice_s
    script = _script(connection, TAKE_SCRIPT)
    while True:
        taken = script(keys=[], args=[INBOX, PROCESSING, take], client=connection)
        if not taken:
            if int(_script(connection, RELEASE_SCRIPT)(keys=[], args=[INBOX, DRAINER], client=connection)):
                return done, total
            continue
        raws = [raw if isinstance(raw, bytes) else str(raw).encode() for raw in taken]
        _ingest_entries(context, raws, total)
        pipe = connection.pipeline(transaction=False)
        for raw in raws:  # by value: a second drainer's entries (after a stall) are never touched
            pipe.lrem(PROCESSING, 1, raw)  # type: ignore[arg-type]  # redis-py's stubs say str; bytes work
        pipe.expire(DRAINER, DRAINER_TTL_S)
        pipe.execute()
        done += len(raws)
        if time.monotonic() >= ends:
            _hand_over(connection)
            return done, total


def _ingest_entries(context: Context, raws: list[bytes], total: IntakeResult) -> None:
    """Ingest entries together. Redis trouble is raised (RQ retries the job; the entries wait in
    ``PROCESSING``); an entry that cannot be read or ingested otherwise is kept in ``REJECTED``, so it
    never blocks the inbox and is never lost."""
    readable: list[tuple[bytes, str, list[dict[str, Any]], dict[str, Any]]] = []
    for raw in raws:
        try:
            readable.append((raw, *read_entry(raw)))
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
            _reject(context, raw, exc)
    if not readable:
        return
    try:
        result = ingest(context, [alert for _, _, alerts, _ in readable for alert in alerts])
    except (StoreUnavailable, TemporaryError, redis.RedisError):
        raise
    except Exception as exc:
        if len(readable) == 1:
            _reject(context, readable[0][0], exc)
            return
        for raw, *_ in readable:  # find the one that fails, ingest the others
            _ingest_entries(context, [raw], total)
        return
    for name in ("received", "enqueued", "duplicates", "unmatched"):
        setattr(total, name, getattr(total, name) + getattr(result, name))
    groups = sorted({str(envelope.get("groupKey") or "?")[:200] for *_, envelope in readable})
    log.info(
        "intake of %d payload(s) received %s..%s (groups %s): %s",
        len(readable),
        readable[0][1],
        readable[-1][1],
        ", ".join(groups[:5]) + (f" and {len(groups) - 5} more" if len(groups) > 5 else ""),
        json.dumps(result.to_dict(), sort_keys=True),
    )


def _reject(context: Context, raw: bytes, exc: BaseException) -> None:
    context.redis.rpush(REJECTED, raw)
    log.error("intake entry kept in %s: cannot be ingested (%s: %s)", REJECTED, type(exc).__name__, exc)


def _recover(connection: redis.Redis) -> None:
    """Entries a dead drainer had taken go back to the head of the inbox, in their order."""
    while connection.lmove(PROCESSING, INBOX, "RIGHT", "LEFT") is not None:
        pass


def _hand_over(connection: redis.Redis) -> None:
    """A new drain job at the front of the alerts queue takes the marker: approved actions go first."""
    job_id = _next_drainer(connection)
    connection.set(DRAINER, job_id, ex=DRAINER_TTL_S)
    _enqueue_drainer(connection, job_id)


def kick(connection: redis.Redis) -> bool:
    """Enqueue a drain job when entries wait and no drainer is queued or running (its worker died, or its
    job failed for good). Returns True when it enqueued one."""
    if backlog(connection) == 0:
        return False
    job_id = _next_drainer(connection)
    if not connection.set(DRAINER, job_id, ex=DRAINER_TTL_S, nx=True):
        return False
    _enqueue_drainer(connection, job_id)
    return True


def _next_drainer(connection: redis.Redis) -> str:
    return f"intake-drain-{int(connection.incr(DRAINS)):016d}"  # the push script's format


def _enqueue_drainer(connection: redis.Redis, job_id: str) -> None:
    Queue(queues.ALERTS, connection=connection).enqueue_call(
        drain_job, job_id=job_id, at_front=True, **queues.rq_options(DRAIN_OPTIONS)
    )


def drain_job() -> int:
    """RQ job: drain the inbox (see ``drain``); returns the entries ingested."""
    done, _ = drain(current())
    return done


def kick_job() -> bool:
    """Periodic RQ job (``aiops cron``): restart draining after a drainer's worker died."""
    return kick(current().redis)
