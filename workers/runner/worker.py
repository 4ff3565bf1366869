"""The RQ worker the responder runs: RQ's forking worker that runs only the responder's own jobs.

Whoever can write to Redis can enqueue a job, and the worker holds the cluster-write credentials, so it
trusts nothing it dequeues. Before anything is imported it checks the stored names: the function must be
one of ``workers.runner.jobs``, each callback one we register, with no bound instance and no webhook. The
job data is read by an unpickler that refuses every reference to a function or class (unpickling alone can
run code); the responder's jobs carry plain data only. A refused job is failed with the reason (kept in
the failed registry), logged at ERROR and counted as ``jobs_refused_total``: it never runs.

RQ declares a job abandoned one monitoring interval plus a fixed 60 s after its worker's last heartbeat.
The grace is a setting here, so that a dead worker's investigation is picked up again sooner where the
operator wants it (the job is idempotent; executions are never retried).
"""

from __future__ import annotations

import io
import logging
import pickle
from collections.abc import Sequence
from functools import partial
from typing import Any

from rq import Worker
from rq.exceptions import DeserializationError
from rq.job import Job
from rq.utils import now

from workers.errors import JobRefused, SettingsError
from workers.runner import jobs
from workers.spine import counters, queues
from workers.spine.context import Context

log = logging.getLogger(__name__)


# The callbacks the responder registers on jobs, and the jobs it enqueues, as RQ stores their names.
CALLBACKS = frozenset(jobs.dotted(callback) for callback in jobs.CALLBACKS)
JOB_FUNCTIONS = frozenset(jobs.dotted(job) for job in jobs.JOBS)
# Globals plain job data may name (a datetime pickles as one); any other reference is refused.
_PLAIN_GLOBALS = frozenset(
    ("datetime", name) for name in ("datetime", "date", "time", "timedelta", "timezone")
)
_SHOWN_CHARS = 120


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _PLAIN_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"job data refers to {_shown(f'{module}.{name}')}, not plain data")


class PlainDataSerializer:
    """RQ's own format (pickle), read back as plain data only: what any enqueuer writes for our jobs."""

    dumps = staticmethod(partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def loads(data: bytes) -> Any:
        return _PlainDataUnpickler(io.BytesIO(data)).load()


def _shown(name: object) -> str:
    text = repr(name)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _callback_names(job: Job) -> tuple[tuple[str, str | None], ...]:
    # The stored names, read without resolving them (RQ's public properties import the callback).
    return (
        ("on_success", job._success_callback_name),
        ("on_failure", job._failure_callback_name),
        ("on_stopped", job._stopped_callback_name),
    )


def refusal(job: Job) -> str | None:
    """Why ``job`` is not one of the responder's own jobs, or None. Imports and calls nothing."""
    try:
        name, instance = job.func_name, job.instance
    except DeserializationError as exc:
        return f"job data is not plain data: {exc.__cause__ or 'unreadable'}"
    if name not in JOB_FUNCTIONS:
        return f"function {_shown(name)} is not one of the responder's jobs"
    if instance is not None:
        return "a job on a bound method is not one of the responder's jobs"
    for option, callback in _callback_names(job):
        if callback and callback not in CALLBACKS:
            return f"{option} callback {_shown(callback)} is not one of the responder's callbacks"
    if job.webhooks:
        return "job webhooks are not used by the responder"
    return None


class ResponderJob(Job):
    """A job that resolves only the responder's functions and callbacks.

    The worker refuses foreign jobs before they get here; this guards the other places RQ resolves names
    (e.g. the failure callback of an abandoned job, called by the registry cleanup).
    """

    @property
    def func(self) -> Any:
        if self.func_name not in JOB_FUNCTIONS or self.instance is not None:
            raise JobRefused(f"function {_shown(self.func_name)} is not one of the responder's jobs")
        return super().func

    @property
    def success_callback(self) -> Any:
        _check_callback(self, "on_success", self._success_callback_name)
        return super().success_callback

    @property
    def failure_callback(self) -> Any:
        _check_callback(self, "on_failure", self._failure_callback_name)
        return super().failure_callback

    @property
    def stopped_callback(self) -> Any:
        _check_callback(self, "on_stopped", self._stopped_callback_name)
        return super().stopped_callback

    def send_webhooks(self, status: Any, *, exc_string: str | None = None) -> None:
        """Never sent: the responder registers none, so any a job carries came from elsewhere."""
        if self.webhooks:
            log.error("job %s: webhooks not sent (the responder registers none)", self.id)


def _check_callback(job: Job, option: str, name: str | None) -> None:
    if name and name not in CALLBACKS:
        reason = f"{option} callback {_shown(name)} is not one of the responder's callbacks"
        log.error("refused callback of job %s on queue %s: %s", job.id, job.origin, reason)
        counters.increment(job.connection, "jobs_refused_total", queue=job.origin or "")
        raise JobRefused(reason)


class ResponderWorker(Worker):
    heartbeat_grace_s = 60

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        interval = float(self.job_monitoring_interval)
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(interval) + self.heartbeat_grace_s

    def perform_job(self, job: Job, queue: Any, execution: Any) -> bool:
        reason = refusal(job)
        if reason is None:
            return bool(super().perform_job(job, queue, execution))
        self.refuse(job, queue, execution, reason)
        return False

    def refuse(self, job: Job, queue: Any, execution: Any, reason: str) -> None:
        """Fail ``job`` without running it or its callbacks: logged, counted, kept in the failed registry."""
        log.error("refused job %s on queue %s: %s", job.id, queue.name, reason)
        counters.increment(self.connection, "jobs_refused_total", queue=queue.name)
        job.retries_left = None  # a retry would only be refused again
        job.started_at = job.ended_at = now()
        self.handle_job_failure(
            job, queue, exc_string=f"{JobRefused.__module__}.JobRefused: {reason}", execution=execution
        )


def build_worker(context: Context, queue_names: Sequence[str]) -> ResponderWorker:
    unknown = [name for name in queue_names if name not in queues.ALL]
    if unknown:
        raise SettingsError(
            f"--queues: unknown queue(s) {', '.join(unknown)}; known: {', '.join(queues.ALL)}"
        )
    settings = context.settings.worker
    worker = ResponderWorker(
        list(queue_names),  # names: RQ builds the queues with the job class and serializer below
        connection=context.redis,
        job_class=ResponderJob,
        serializer=PlainDataSerializer,
        job_monitoring_interval=settings.job_monitoring_interval_s,
        maintenance_interval=settings.maintenance_interval_s,
        # An idle worker sweeps abandoned jobs once per dequeue timeout (worker_ttl - 15 s).
        worker_ttl=settings.maintenance_interval_s + 15,
    )
    worker.heartbeat_grace_s = settings.heartbeat_grace_s
    return worker
