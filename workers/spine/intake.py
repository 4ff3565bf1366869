"""Intake: deduplicate normalised alerts, match them to rules and queue the work, atomically.

The dedup markers and the jobs are written in one MULTI/EXEC guarded by WATCH on the markers, so
Alertmanager's re-sends and several receiver replicas racing on one alert make exactly one job, and
a failure half-way leaves neither marker nor job (the sender's retry then succeeds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError

from workers.errors import StoreUnavailable
from workers.integrations.redis.connection import pinned, wait_for_replicas
from workers.redaction import bounded
from workers.spine import counters, incidents, investigation, lifecycle, queues
from workers.spine.context import Context, current

DEDUP_PREFIX = "aiops:dedup:"
INCIDENT_PREFIX = "aiops:incident:"


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
    """The jobs one alert asks for; empty when nothing wants it."""
    planned = []
    if (
        alert["status"] == "resolved"
        and context.settings.alerts.resolved_supersedes
        and (
            context.proposals.any_for_alert(alert["fingerprint"])
            or incidents.in_incident(context.redis, alert["fingerprint"])
        )
    ):
        marker = dedup_key(alert).removeprefix(DEDUP_PREFIX)
        planned.append(
            {
                "kind": "resolved",
                "args": (alert,),
                "job_id": f"resolved-{marker}",
                "options": queues.INVESTIGATE_OPTIONS,
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
    queue = queues.queue(queues.ALERTS, context.redis)
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
            _commit(context.redis, queue, plans, windows, result, text_limit)
        else:
            # The 2xx promises the work survives the primary's loss: replicas must hold it first.
            with pinned(context.redis) as connection:
                pinned_queue = queues.queue(queues.ALERTS, connection)
                _commit(connection, pinned_queue, plans, windows, result, text_limit)
                wait_for_replicas(connection, store.min_replicas_ack, store.replica_ack_timeout_ms)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"Redis is unreachable: {exc}") from exc
    return result


def _is_duplicate(
    alert: dict[str, Any], key: str, incident: str | None, markers: dict[str, Any], claimed: set[str]
) -> bool:
    if markers.get(key) is not None:
        return True
    return bool(alert["status"] == "firing" and incident and (markers.get(incident) or incident in claimed))


def _count(pipe: Any, queue: str, received: int, duplicates: int, unmatched: int, enqueued: int) -> None:
    counters.increment(pipe, "alerts_received_total", received)
    counters.increment(pipe, "alerts_duplicate_total", duplicates)
    counters.increment(pipe, "alerts_unmatched_total", unmatched)
    counters.increment(pipe, "jobs_enqueued_total", enqueued, queue=queue)


def _commit(
    connection: redis.Redis,
    queue: Queue,
    plans: list[tuple[dict[str, Any], str, list[dict[str, Any]]]],
    windows: tuple[int, int],
    result: IntakeResult,
    text_limit: int,
) -> None:
    window, incident_window = windows
    incidents = [incident_key(alert) for alert, _, _ in plans]
    keys = [key for _, key, _ in plans] + sorted({key for key in incidents if key})
    base_duplicates = result.duplicates
    received = len(plans) + base_duplicates
    # Fast path for Alertmanager's re-sends: when every alert is already known, only counters change.
    markers = dict(zip(keys, connection.mget(keys), strict=True)) if keys else {}
    if all(
        _is_duplicate(alert, key, inc, markers, set())
        for (alert, key, _), inc in zip(plans, incidents, strict=True)
    ):
        with connection.pipeline(transaction=False) as pipe:
            _count(pipe, queue.name, received, received, 0, 0)
            pipe.execute()
        result.duplicates = received
        return
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                markers = dict(zip(keys, pipe.mget(keys), strict=True))
                pipe.multi()
                duplicates = unmatched = 0
                jobs: list[dict[str, Any]] = []
                claimed: set[str] = set()
                for (alert, key, planned), incident in zip(plans, incidents, strict=True):
                    if alert["status"] == "resolved" and incident:
                        pipe.delete(incident)  # a new episode after this one is a new incident
                    if _is_duplicate(alert, key, incident, markers, claimed):
                        duplicates += 1
                        continue
                    if not planned:
                        unmatched += 1
                        pipe.set(key, "unmatched", ex=window)
                        continue
                    pipe.set(key, ",".join(job["job_id"] for job in planned), ex=window)
                    if alert["status"] == "firing" and incident:
                        pipe.set(incident, key, ex=incident_window)
                        claimed.add(incident)
                    jobs.extend(planned)
                _enqueue(queue, pipe, [_stored_job(job, text_limit) for job in jobs])
                _count(pipe, queue.name, received, duplicates + base_duplicates, unmatched, len(jobs))
                pipe.execute()
            except redis.WatchError:
                continue
            result.enqueued, result.unmatched = len(jobs), unmatched
            result.jobs = [job["job_id"] for job in jobs]
            result.duplicates = base_duplicates + duplicates
            return


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


def _enqueue(queue: Queue, pipe: Any, jobs: list[dict[str, Any]]) -> None:
    """One job enqueues as itself; several go as one fan-out job, which keeps a storm's webhook cheap."""
    if len(jobs) == 1:
        job = jobs[0]
        queue.enqueue_call(
            JOBS[job["kind"]],
            args=job["args"],
            job_id=job["job_id"],
            pipeline=pipe,
            **queues.rq_options(job["options"]),
        )
    elif jobs:
        batch = [{"kind": job["kind"], "args": list(job["args"]), "job_id": job["job_id"]} for job in jobs]
        digest = hashlib.sha256(",".join(job["job_id"] for job in jobs).encode()).hexdigest()[:20]
        queue.enqueue_call(
            fan_out_job,
            args=(batch,),
            job_id=f"fanout-{digest}",
            pipeline=pipe,
            **queues.rq_options(queues.INVESTIGATE_OPTIONS),
        )


def fan_out(connection: redis.Redis, batch: list[dict[str, Any]]) -> int:
    """Enqueue each job of an intake batch as its own job; a job that already exists is left alone.

    Runs as a job itself, so a crash half-way is retried; the ids are deterministic, so nothing doubles.
    """
    queue = queues.queue(queues.ALERTS, connection)
    enqueued = 0
    for job in batch:
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
    return enqueued


def fan_out_job(batch: list[dict[str, Any]]) -> int:
    """The RQ job for a multi-alert payload."""
    return fan_out(current().redis, batch)
