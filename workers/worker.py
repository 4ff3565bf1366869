"""The RQ worker the responder runs: RQ's forking worker with a configurable heartbeat grace.

RQ declares a job abandoned one monitoring interval plus a fixed 60 s after its worker's last
heartbeat. The grace is a setting here, so that a dead worker's investigation is picked up again
sooner where the operator wants it (the job is idempotent; executions are never retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rq import Worker

from workers import queues
from workers.context import Context
from workers.errors import SettingsError


class ResponderWorker(Worker):
    heartbeat_grace_s = 60

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        interval = float(self.job_monitoring_interval)
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(interval) + self.heartbeat_grace_s


def build_worker(context: Context, queue_names: Sequence[str]) -> ResponderWorker:
    unknown = [name for name in queue_names if name not in queues.ALL]
    if unknown:
        raise SettingsError(
            f"--queues: unknown queue(s) {', '.join(unknown)}; known: {', '.join(queues.ALL)}"
        )
    settings = context.settings.worker
    worker = ResponderWorker(
        [queues.queue(name, context.redis) for name in queue_names],
        connection=context.redis,
        job_monitoring_interval=settings.job_monitoring_interval_s,
        maintenance_interval=settings.maintenance_interval_s,
        # An idle worker sweeps abandoned jobs once per dequeue timeout (worker_ttl - 15 s).
        worker_ttl=settings.maintenance_interval_s + 15,
    )
    worker.heartbeat_grace_s = settings.heartbeat_grace_s
    return worker
