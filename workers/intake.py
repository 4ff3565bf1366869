"""Intake: deduplicate normalised alerts, match them to rules and queue the work, atomically.

The dedup markers and the jobs are written in one MULTI/EXEC guarded by WATCH on the markers, so
Alertmanager's re-sends and several receiver replicas racing on one alert make exactly one job, and
a failure half-way leaves neither marker nor job (the sender's retry then succeeds).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import redis
from rq import Queue

from workers import counters, queues
from workers.context import Context
from workers.errors import StoreUnavailable

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
    different fingerprints and start times; this key makes them one incident.
    """
    labels = alert["labels"]
    if not labels.get("pod") or not labels.get("namespace"):
        return None
    identity = "\x00".join(
        [labels["alertname"], labels["namespace"], labels["pod"], labels.get("container", "")]
    )
    return INCIDENT_PREFIX + hashlib.sha256(identity.encode()).hexdigest()[:32]


def investigation_id(rule: str, alert: dict[str, Any]) -> str:
    identity = "\x00".join([rule, alert["fingerprint"], alert.get("startsAt") or ""])
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


def _planned_jobs(context: Context, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs one alert asks for; empty when nothing wants it."""
    planned = []
    if (
        alert["status"] == "resolved"
        and context.settings.alerts.resolved_supersedes
        and context.proposals.ids_for_alert(alert["fingerprint"])
    ):
        marker = dedup_key(alert).removeprefix(DEDUP_PREFIX)
        planned.append(
            {
                "func": "workers.jobs.alert_resolved",
                "args": (alert,),
                "job_id": f"resolved-{marker}",
                "options": queues.INVESTIGATE_OPTIONS,
            }
        )
    for rule in context.rules.current.match(alert):
        inv = investigation_id(rule.name, alert)
        planned.append(
            {
                "func": "workers.jobs.investigate",
                "args": (alert, rule.name),
                "job_id": f"investigate-{inv}",
                "options": queues.INVESTIGATE_OPTIONS,
            }
        )
    return planned


def ingest(context: Context, alerts: list[dict[str, Any]]) -> IntakeResult:
    """Queue the work for ``alerts``; raises ``StoreUnavailable`` if Redis cannot be reached."""
    result = IntakeResult(received=len(alerts))
    queue = Queue(queues.ALERTS, connection=context.redis)
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
        _commit(context.redis, queue, plans, windows, result)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"Redis is unreachable: {exc}") from exc
    return result


def _commit(
    connection: redis.Redis,
    queue: Queue,
    plans: list[tuple[dict[str, Any], str, list[dict[str, Any]]]],
    windows: tuple[int, int],
    result: IntakeResult,
) -> None:
    window, incident_window = windows
    incidents = [incident_key(alert) for alert, _, _ in plans]
    keys = [key for _, key, _ in plans] + sorted({key for key in incidents if key})
    base_duplicates = result.duplicates
    with connection.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                markers = dict(zip(keys, pipe.mget(keys), strict=True)) if keys else {}
                pipe.multi()
                enqueued = duplicates = unmatched = 0
                job_ids: list[str] = []
                claimed: set[str] = set()
                for (alert, key, jobs), incident in zip(plans, incidents, strict=True):
                    if alert["status"] == "resolved" and incident:
                        pipe.delete(incident)  # a new episode after this one is a new incident
                    if markers.get(key) is not None or (
                        alert["status"] == "firing"
                        and incident
                        and (markers.get(incident) or incident in claimed)
                    ):
                        duplicates += 1
                        continue
                    if not jobs:
                        unmatched += 1
                        pipe.set(key, "unmatched", ex=window)
                        continue
                    pipe.set(key, ",".join(job["job_id"] for job in jobs), ex=window)
                    if alert["status"] == "firing" and incident:
                        pipe.set(incident, key, ex=incident_window)
                        claimed.add(incident)
                    for job in jobs:
                        queue.enqueue_call(
                            job["func"],
                            args=job["args"],
                            job_id=job["job_id"],
                            pipeline=pipe,
                            **queues.rq_options(job["options"]),
                        )
                        job_ids.append(job["job_id"])
                        enqueued += 1
                counters.increment(pipe, "alerts_received_total", len(plans) + base_duplicates)
                counters.increment(pipe, "alerts_duplicate_total", duplicates + base_duplicates)
                counters.increment(pipe, "alerts_unmatched_total", unmatched)
                counters.increment(pipe, "jobs_enqueued_total", enqueued, queue=queue.name)
                pipe.execute()
            except redis.WatchError:
                continue
            result.enqueued, result.unmatched, result.jobs = enqueued, unmatched, job_ids
            result.duplicates = base_duplicates + duplicates
            return
