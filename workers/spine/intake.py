"""Intake: deduplicate normalised alerts, match them to rules and queue the work, atomically.

One Redis round trip per webhook request: a Lua script checks and sets the dedup and incident markers,
counts, and writes the payload's one job (``CLAIM_SCRIPT``), so Alertmanager's re-sends and several
receiver replicas racing on one alert make exactly one job, and a failure half-way leaves neither marker
nor job (the sender's retry then succeeds).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from workers.errors import StoreUnavailable
from workers.integrations.redis.connection import pinned, pool_identity, wait_for_replicas
from workers.redaction import bounded
from workers.spine import counters, incidents, investigation, lifecycle, queues
from workers.spine.context import Context, current
from workers.spine.proposals import BY_ALERT

DEDUP_PREFIX = "aiops:dedup:"
INCIDENT_PREFIX = "aiops:incident:"
CLAIM_PREFIX = "aiops:intake:claim:"
"""What a multi-alert payload's claim found new, for its fan-out job (``fan_out``)."""


@dataclass
class IntakeResult:
    received: int = 0
    enqueued: int = 0
    duplicates: int = 0
    unmatched: int = 0
    jobs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "enqueued": self.enqueued,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
        }


def dedup_key(alert: dict[str, Any]) -> str:
    identity = "\x00".join([alert["fingerprint"], alert["status"], alert.get("startsAt") or ""])
    return DEDUP_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:32]


def incident_key(alert: dict[str, Any]) -> str | None:
    """One key per (alert name, namespace, pod, container) for alerts about a pod.

    Alertmanager and the watch source (`aiops watch`) describe the same failing container with
    different fingerprints and start times; this key makes them one alert. Alerts about sibling pods
    become one incident later, in the investigation, once the pod's workload is known
    (``workers.spine.incidents``).
    """
    labels = alert["labels"]
    if not labels.get("pod") or not labels.get("namespace"):
        return None
    identity = "\x00".join(
        [labels["alertname"], labels["namespace"], labels["pod"], labels.get("container", "")]
    )
    return INCIDENT_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:32]


def _planned_jobs(context: Context, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs one alert asks for; empty when nothing wants it.

    A resolved alert's job is ``conditional``: it is queued only when the alert has a proposal or is in an
    incident, which the claim script checks in Redis (its ``if_exists`` keys), in the same round trip.
    """
    planned = []
    if alert["status"] == "resolved" and context.settings.alerts.resolved_supersedes:
        marker = dedup_key(alert).removeprefix(DEDUP_PREFIX)
        planned.append(
            {
                "kind": "resolved",
                "args": (alert,),
                "job_id": f"resolved-{marker}",
                "options": queues.INVESTIGATE_OPTIONS,
                "if_exists": [BY_ALERT + alert["fingerprint"], incidents.alert_key(alert["fingerprint"])],
            }
        )
    for rule in context.rules.current.match(alert):
        inv = investigation.investigation_id(rule.name, alert)
        planned.append(
            {
                "kind": "investigate",
                "args": (alert, rule.name),
                "job_id": f"investigate-{inv}",
                "options": queues.INVESTIGATE_OPTIONS,
            }
        )
    return planned


def ingest(context: Context, alerts: list[dict[str, Any]]) -> IntakeResult:
    """Queue the work for ``alerts``; raises ``StoreUnavailable`` if Redis cannot be reached."""
    result = IntakeResult(received=len(alerts))
    try:
        seen: set[str] = set()
        plans = []
        for alert in alerts:
            key = dedup_key(alert)
            if key in seen:  # the same alert twice in one payload: the first one wins
                result.duplicates += 1
                continue
            seen.add(key)
            plans.append((alert, key, _planned_jobs(context, alert)))
        windows = (context.settings.alerts.dedup_window_s, context.settings.alerts.incident_window_s)
        text_limit = context.settings.limits.max_stored_alert_text
        store = context.settings.redis
        if store.min_replicas_ack <= 0:
            _claim(context.redis, plans, windows, result, text_limit)
        else:
            # The 2xx promises the work survives the primary's loss: replicas must hold it first.
            with pinned(context.redis) as connection:
                _claim(connection, plans, windows, result, text_limit)
                wait_for_replicas(connection, store.min_replicas_ack, store.replica_ack_timeout_ms)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"Redis is unreachable: {exc}") from exc
    return result


# One round trip per payload: the dedup and incident markers are checked and set, the counters counted and
# the payload's one job written, all in one script, so Alertmanager's re-sends and receiver replicas racing
# on one alert make exactly one job, and a failure half-way leaves neither marker nor job (the sender's
# retry then succeeds). The job's own commands are RQ's, recorded from an unexecuted pipeline
# (``_recorded``): the script replays them only when at least one alert is new.
#
# ARGV: window, incident window, counters key, the four counter fields, the payload's own duplicates,
# the claim key ('' for a single job), the number of alerts, '1' for a probe (below); per alert: dedup
# key, incident key or '', status, marker value, unconditional job count, two keys of which one must
# exist for its conditional job ('' for none); then the number of job commands and, per command, its
# argument count and arguments.
# Returns {duplicates, unmatched, enqueued, flag per alert}: 0 new, 1 new with its conditional job,
# 2 duplicate, 3 unmatched.
#
# Building the job (redacting the stored alerts, RQ's serialisation) is most of a request's cost, and an
# Alertmanager re-send needs none of it. When this process has seen every alert of a payload before
# (``_SEEN``), it first sends a probe without the job: all known, it is done in one round trip; else the
# probe wrote nothing and the full claim follows. Redis decides either way; the memory only picks the order.
CLAIM_SCRIPT = """
local window, incident_window = tonumber(ARGV[1]), tonumber(ARGV[2])
local counters = ARGV[3]
local received_f, duplicate_f, unmatched_f, enqueued_f = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local base_duplicates, claim_key, n = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local duplicates, unmatched, enqueued = 0, 0, 0
local flags, claimed, new = {}, {}, {}
local at = 12
if ARGV[11] == '1' then
  -- A probe, sent without the job: writes nothing and answers {-1} unless every alert is known.
  local deleted, a = {}, at
  for i = 1, n do
    local key, incident, status = ARGV[a], ARGV[a + 1], ARGV[a + 2]
    a = a + 7
    if status == 'resolved' and incident ~= '' then
      deleted[incident] = true
    end
    local known = redis.call('EXISTS', key) == 1
    if not known and status == 'firing' and incident ~= '' and not deleted[incident] then
      known = redis.call('EXISTS', incident) == 1
    end
    if not known then
      return {-1}
    end
  end
end
for i = 1, n do
  local key, incident, status, marker = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local jobs, if1, if2 = tonumber(ARGV[at + 4]), ARGV[at + 5], ARGV[at + 6]
  at = at + 7
  if status == 'resolved' and incident ~= '' then
    redis.call('DEL', incident)  -- a new episode after this one is a new incident
  end
  local duplicate = redis.call('EXISTS', key) == 1
  if not duplicate and status == 'firing' and incident ~= '' then
    duplicate = claimed[incident] or redis.call('EXISTS', incident) == 1
  end
  if duplicate then
    duplicates = duplicates + 1
    flags[i] = 2
  else
    local conditional = 0
    if if1 ~= '' and (redis.call('EXISTS', if1) == 1 or (if2 ~= '' and redis.call('EXISTS', if2) == 1)) then
      conditional = 1
    end
    if jobs + conditional == 0 then
      unmatched = unmatched + 1
      redis.call('SET', key, 'unmatched', 'EX', window)
      flags[i] = 3
    else
      redis.call('SET', key, marker, 'EX', window)
      if status == 'firing' and incident ~= '' then
        redis.call('SET', incident, key, 'EX', incident_window)
        claimed[incident] = true
      end
      enqueued = enqueued + jobs + conditional
      flags[i] = conditional
      new[#new + 1] = (i - 1) .. ':' .. conditional
    end
  end
end
local commands = tonumber(ARGV[at])
at = at + 1
if enqueued > 0 then
  if claim_key ~= '' then
    redis.call('SET', claim_key, table.concat(new, ','), 'EX', 86400)
  end
  for _ = 1, commands do
    local argc = tonumber(ARGV[at])
    redis.call(unpack(ARGV, at + 1, at + argc))
    at = at + argc + 1
  end
end
redis.call('HINCRBY', counters, received_f, n + base_duplicates)
redis.call('HINCRBY', counters, duplicate_f, duplicates + base_duplicates)
redis.call('HINCRBY', counters, unmatched_f, unmatched)
redis.call('HINCRBY', counters, enqueued_f, enqueued)
return {duplicates, unmatched, enqueued, flags}
"""
_scripts: dict[int, Any] = {}
_QUEUES: dict[int, Queue] = {}


def alerts_queue(connection: redis.Redis) -> Queue:
    """The alerts queue on ``connection``, knowing the server's version (RQ asks for it with INFO once per
    queue object, which would cost every webhook request a round trip)."""
    pool = pool_identity(connection)
    queue = queues.queue(queues.ALERTS, connection)
    known = _QUEUES.get(pool)
    if known is not None and known.redis_server_version:
        queue.redis_server_version = known.redis_server_version
    else:
        queue.get_redis_server_version()
        _QUEUES[pool] = queue
    return queue


def _recorded(connection: redis.Redis, jobs: list[dict[str, Any]], claim_key: str) -> list[list[bytes]]:
    """RQ's own commands for enqueuing ``jobs`` (one job, or one fan-out job for several), not sent."""
    if not jobs:
        return []
    queue = alerts_queue(connection)
    pipe = connection.pipeline(transaction=False)
    if len(jobs) == 1:
        job = jobs[0]
        queue.enqueue_call(
            JOBS[job["kind"]],
            args=job["args"],
            job_id=job["job_id"],
            pipeline=pipe,
            **queues.rq_options(job["options"]),
        )
    else:
        batch = [
            {
                "kind": job["kind"],
                "args": list(job["args"]),
                "job_id": job["job_id"],
                "alert": job["alert"],
                "conditional": bool(job.get("if_exists")),
            }
            for job in jobs
        ]
        # At the front: it only queues the payload's investigations, and a later payload's must not
        # wait behind an earlier storm's whole queue before they are even queued.
        queue.enqueue_call(
            fan_out_job,
            args=(batch, claim_key),
            job_id=f"fanout-{claim_key.removeprefix(CLAIM_PREFIX)}",
            pipeline=pipe,
            at_front=True,
            **queues.rq_options(queues.INVESTIGATE_OPTIONS),
        )
    encode: Callable[[Any], bytes] = connection.get_encoder().encode
    commands = [[encode(arg) for arg in args] for args, _ in pipe.command_stack]
    pipe.reset()
    return commands


class _Seen:
    """Dedup keys this process sent to the claim script lately (bounded, expiring; shared by threads)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self.keys: OrderedDict[str, float] = OrderedDict()
        self.lock = threading.Lock()

    def all_seen(self, keys: list[str]) -> bool:
        now = time.monotonic()
        with self.lock:
            return bool(keys) and all(self.keys.get(key, 0.0) > now for key in keys)

    def add(self, keys: list[str], ttl_s: float) -> None:
        until = time.monotonic() + ttl_s
        with self.lock:
            for key in keys:
                self.keys[key] = until
                self.keys.move_to_end(key)
            while len(self.keys) > self.size:
                self.keys.popitem(last=False)


_SEEN: dict[int, _Seen] = {}
"""Per connection pool, like the scripts: each Redis (and each test's) has its own memory."""


def _claim(
    connection: redis.Redis,
    plans: list[tuple[dict[str, Any], str, list[dict[str, Any]]]],
    windows: tuple[int, int],
    result: IntakeResult,
    text_limit: int,
) -> None:
    window, incident_window = windows
    planned = [{**job, "alert": index} for index, (_, _, jobs) in enumerate(plans) for job in jobs]
    digest = hashlib.sha256(",".join(job["job_id"] for job in planned).encode()).hexdigest()[:20]
    claim_key = CLAIM_PREFIX + digest if len(planned) > 1 else ""
    head: list[Any] = [
        window,
        incident_window,
        counters.KEY,
        counters.counter_field("alerts_received_total"),
        counters.counter_field("alerts_duplicate_total"),
        counters.counter_field("alerts_unmatched_total"),
        counters.counter_field("jobs_enqueued_total", queue=queues.ALERTS),
        result.duplicates,
        claim_key,
        len(plans),
    ]
    per_alert: list[Any] = []
    for alert, key, jobs in plans:
        conditional = next((job["if_exists"] for job in jobs if job.get("if_exists")), ["", ""])
        per_alert += [
            key,
            incident_key(alert) or "",
            alert["status"],
            ",".join(job["job_id"] for job in jobs),
            sum(1 for job in jobs if not job.get("if_exists")),
            *conditional,
        ]
    pool = pool_identity(connection)
    script = _scripts.get(pool)
    if script is None:
        script = _scripts[pool] = connection.register_script(CLAIM_SCRIPT)
    keys = [key for _, key, _ in plans]
    seen = _SEEN.setdefault(pool, _Seen())
    if seen.all_seen(keys):
        reply = script(keys=[], args=[*head, "1", *per_alert, 0], client=connection)
        if int(reply[0]) != -1:
            _answer(result, reply, [])
            return
    stored = [_stored_job(job, text_limit) for job in planned]
    commands = _recorded(connection, stored, claim_key)
    flat: list[Any] = [len(commands)]
    for command in commands:
        flat += [len(command), *command]
    reply = script(keys=[], args=[*head, "0", *per_alert, *flat], client=connection)
    _answer(result, reply, stored)
    seen.add(keys, window)


def _answer(result: IntakeResult, reply: Any, jobs: list[dict[str, Any]]) -> None:
    duplicates, unmatched, enqueued, flags = reply
    result.duplicates += int(duplicates)
    result.unmatched, result.enqueued = int(unmatched), int(enqueued)
    result.jobs = [
        job["job_id"]
        for job in jobs
        if int(flags[job["alert"]]) in (0, 1) and (not job.get("if_exists") or int(flags[job["alert"]]) == 1)
    ]


def stored_alert(alert: dict[str, Any], limit: int) -> dict[str, Any]:
    """``alert`` as jobs, proposals and records keep it: label and annotation values (and generatorURL)
    redacted, and cut to ``limit`` characters with a visible marker. Matching and dedup use the original."""
    stored = dict(alert)
    for key in ("labels", "annotations"):
        values = alert.get(key)
        if isinstance(values, dict):
            stored[key] = {
                name: bounded(value, limit, name) if isinstance(value, str) else value
                for name, value in values.items()
            }
    if isinstance(alert.get("generatorURL"), str):
        stored["generatorURL"] = bounded(alert["generatorURL"], limit)
    return stored


def _stored_job(job: dict[str, Any], limit: int) -> dict[str, Any]:
    """Only the jobs that are enqueued pay for redaction; duplicates never reach this."""
    args = tuple(stored_alert(arg, limit) if isinstance(arg, dict) else arg for arg in job["args"])
    return {**job, "args": args}


# What an intake job is, by the ``kind`` it carries: the fan-out job reads kinds, never function names,
# so the data in Redis cannot name a function to run.
JOBS: dict[str, Callable[..., Any]] = {
    "investigate": investigation.investigate_job,
    "resolved": lifecycle.alert_resolved_job,
}


# Kubernetes names pods from its "safe" alphabet (no vowels, no 0, 1 or 3: rand.SafeEncodeString).
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_POD_OF_REPLICASET = re.compile(rf"^(?P<workload>.+)-{_SAFE}{{6,10}}-{_SAFE}{{5}}$")
_POD_WITH_SUFFIX = re.compile(rf"^(?P<workload>.+)-(?:[0-9]+|{_SAFE}{{5}})$")


def workload_hint(alert: dict[str, Any]) -> str | None:
    """A guess at the workload of the alert's pod from its name alone (Deployment pods are
    ``<name>-<template hash>-<suffix>``, StatefulSet pods ``<name>-<ordinal>``, DaemonSet and Job pods
    ``<name>-<suffix>``). Only the order of a storm's jobs depends on it; incidents decide, by the owner."""
    labels = alert.get("labels") or {}
    pod, namespace = labels.get("pod"), labels.get("namespace")
    if not pod or not namespace:
        return None
    found = _POD_OF_REPLICASET.match(pod) or _POD_WITH_SUFFIX.match(pod)
    return f"{namespace}/{found.group('workload') if found else pod}"


def storm_order(jobs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """The first investigation per (rule, workload) as leaders; the others in one batch per workload.

    In a storm most alerts are about pods of a few workloads; their investigations only join the
    leader's incident. Leaders go first so every workload's proposal comes early, and each workload's
    followers go as one job, not one fork each."""
    leaders: list[dict[str, Any]] = []
    followers: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for job in jobs:
        hint = workload_hint(job["args"][0]) if job["kind"] == "investigate" else None
        if hint is None:
            leaders.append(job)
            continue
        group = (str(job["args"][1]), hint)
        if group in followers:
            followers[group].append(job)
        else:
            leaders.append(job)
            followers[group] = []
    return leaders, [batch for batch in followers.values() if batch]


def claimed(connection: redis.Redis, claim_key: str) -> dict[int, bool]:
    """What a payload's claim found new: alert index -> whether its conditional job's condition held."""
    raw = connection.get(claim_key)
    text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
    pairs = (item.partition(":") for item in text.split(",") if item)
    return {int(index): flag == "1" for index, _, flag in pairs}


def fan_out(connection: redis.Redis, batch: list[dict[str, Any]], claim_key: str | None = None) -> int:
    """Enqueue the jobs of an intake batch; a job that already exists is left alone.

    ``claim_key`` names what the claim script found new in the payload (``index:conditional`` pairs): only
    those alerts' jobs are enqueued, a conditional one only when its condition held. Without one (a job
    queued by an older version) every job is. Each workload's first investigation goes as its own job and
    the rest of its alerts follow in one ``siblings_job`` (``storm_order``). Runs as a job itself, so a
    crash half-way is retried; the ids are deterministic, so nothing doubles. Returns the investigations
    and resolutions enqueued.
    """
    wanted = claimed(connection, claim_key) if claim_key else None
    selected = []
    for job in batch:
        if wanted is not None:
            index = int(job.get("alert", -1))
            if index not in wanted or (job.get("conditional") and not wanted[index]):
                continue
        selected.append(job)
    leaders, followers = storm_order(selected)
    queue = queues.queue(queues.ALERTS, connection)
    enqueued = 0
    for job in leaders:
        try:
            queue.enqueue_call(
                JOBS[job["kind"]],
                args=tuple(job["args"]),
                job_id=job["job_id"],
                unique=True,
                **queues.rq_options(queues.INVESTIGATE_OPTIONS),
            )
        except DuplicateJobError:
            continue
        enqueued += 1
    for group in followers:
        digest = hashlib.sha256(",".join(job["job_id"] for job in group).encode()).hexdigest()[:20]
        try:
            queue.enqueue_call(
                siblings_job,
                args=([[job["args"][0], job["args"][1]] for job in group],),
                job_id=f"siblings-{digest}",
                unique=True,
                **queues.rq_options(queues.INVESTIGATE_OPTIONS),
            )
        except DuplicateJobError:
            continue
        enqueued += len(group)
    if claim_key:
        connection.delete(claim_key)
    return enqueued


def siblings_job(alerts: list[list[Any]]) -> int:
    """RQ job: investigate alerts about pods of one workload, one after the other (each joins the
    workload's incident, or opens it when it has none yet). Every alert is tried; the first error is raised
    after, so RQ retries the job, and the investigations already done find their results and stop.

    Workers look at the ``actions`` queue only between jobs, so a long batch would hold an approved action
    back: when one waits, the rest of the batch goes back to the front of ``alerts`` as a new job and this
    one ends, so the action waits for one investigation at most."""
    connection = current().redis
    actions = queues.queue(queues.ACTIONS, connection).key
    failed: Exception | None = None
    done = 0
    for index, (alert, rule) in enumerate(alerts):
        if index and connection.llen(actions):
            _hand_back(connection, alerts[index:])
            break
        try:
            investigation.investigate_job(alert, str(rule))
            done += 1
        except Exception as exc:  # a TemporaryError of one alert must not skip the others
            failed = failed or exc
    if failed is not None:
        raise failed
    return done


def _hand_back(connection: redis.Redis, alerts: list[list[Any]]) -> None:
    """The rest of a sibling batch as a new job at the front of ``alerts`` (after the waiting action)."""
    ids = ",".join(investigation.investigation_id(str(rule), alert) for alert, rule in alerts)
    with contextlib.suppress(DuplicateJobError):  # handed back once already (this run is a retry)
        queues.queue(queues.ALERTS, connection).enqueue_call(
            siblings_job,
            args=(alerts,),
            job_id=f"siblings-{hashlib.sha256(ids.encode()).hexdigest()[:20]}",
            unique=True,
            at_front=True,
            **queues.rq_options(queues.INVESTIGATE_OPTIONS),
        )


def fan_out_job(batch: list[dict[str, Any]], claim_key: str | None = None) -> int:
    """The RQ job for a multi-alert payload."""
    return fan_out(current().redis, batch, claim_key)
