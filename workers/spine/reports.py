"""Stored reports (the weekly health report, the weekly security audit) and the job that makes one.

A report is one JSON document in Redis under ``aiops:report:<id>``, listed by two sorted sets scored by
``generated_at`` (all kinds, and per kind). Bounds, from ``settings.reports``:

- retention: a report's key expires ``retention_days`` after it is stored, and listing drops index
  entries older than that;
- count: at most ``max_per_kind`` reports per kind; storing one more deletes the oldest of that kind;
- size: a report whose JSON is larger than ``max_bytes`` is trimmed before it is stored: first the
  evidence of its findings (their messages stay), then its least severe findings, section by section;
  ``Report.notes`` says what was dropped. A report that is still too large (its skeleton alone) is
  refused with ``PermanentError``, and the run's audit record says so.

``report_job(kind)`` (queue ``reports``, in ``workers.runner.jobs.JOBS``) builds a report with the
workflow the registry names for ``kind``, compares it with the previous stored one, stores it, adds
entries to an audit record (``report-<id>``) and notifies every sink with a link to it; when the report's
``changes["new_critical"]`` is not empty (the security audit), a second notification escalates them at
once, with each one's escalation text, and the record gets an ``escalation`` entry. A failed run
records its error in that record and raises ``TemporaryError``, so RQ retries it (``REPORT_OPTIONS``);
cron enqueues it through ``schedule_report_job`` so that the retry options travel with the job.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Retry

from workers.domain import Report, Severity
from workers.errors import NotFound, PermanentError, TemporaryError
from workers.integrations.redis.connection import as_text
from workers.settings import ReportSettings

log = logging.getLogger("aiops.reports")

PREFIX = "aiops:report:"
INDEX = "aiops:reports:index"
KIND_INDEX = "aiops:reports:kind:"

REPORT_OPTIONS: dict[str, Any] = {
    "retry": Retry(max=3, interval=[60, 300, 900]),
    "job_timeout": 600,
    "result_ttl": 86400,
    "failure_ttl": 30 * 86400,
}
"""A report run that fails (the API server or Redis away) is tried again three times, minutes apart."""


def report_id(kind: str, moment: datetime) -> str:
    """``health-20261130T000000Z``: one id per kind and period end, so a retried run replaces its own."""
    return f"{kind}-{moment.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def _size(report: Report) -> int:
    return len(report.model_dump_json().encode())


def fit(report: Report, max_bytes: int) -> Report:
    """``report`` within ``max_bytes`` of JSON: evidence dropped first, then the least severe findings.

    Raises ``PermanentError`` when even a report without findings is larger than the bound.
    """
    if _size(report) <= max_bytes:
        return report
    trimmed = report.model_copy(deep=True)
    for section in trimmed.sections:
        for finding in section.findings:
            finding.evidence = {}
    dropped = 0
    if _size(trimmed) > max_bytes:
        # Least severe first, across sections, until it fits.
        ranked = sorted(
            (
                (finding.severity.rank, -finding.score, index, position)
                for index, section in enumerate(trimmed.sections)
                for position, finding in enumerate(section.findings)
            ),
            reverse=True,
        )
        gone: set[tuple[int, int]] = set()
        for _rank, _score, index, position in ranked:
            gone.add((index, position))
            dropped += 1
            if dropped % 50 == 0 or dropped == len(ranked):
                candidate = _without(trimmed, gone)
                if _size(candidate) <= max_bytes:
                    trimmed = candidate
                    break
        else:
            trimmed = _without(trimmed, gone)
    note = f"trimmed to the size bound of {max_bytes} bytes: evidence of findings left out"
    if dropped:
        note += f", and the {dropped} least severe findings"
    trimmed.notes.append(note)
    if _size(trimmed) > max_bytes:
        raise PermanentError(f"report {report.id} is larger than {max_bytes} bytes even without findings")
    return trimmed


def _without(report: Report, gone: set[tuple[int, int]]) -> Report:
    copy = report.model_copy(deep=True)
    for index, section in enumerate(copy.sections):
        section.findings = [f for position, f in enumerate(section.findings) if (index, position) not in gone]
    return copy


def summary(report: Report) -> dict[str, Any]:
    """What a listing shows of a report: id, kind, period, score, grade and findings per severity."""
    counts = {severity.value: 0 for severity in Severity}
    for finding in report.findings():
        counts[finding.severity.value] += 1
    return {
        "id": report.id,
        "kind": report.kind,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "generated_at": report.generated_at,
        "score": report.score,
        "grade": report.grade,
        "findings": counts,
        "record_id": report.record_id,
    }


class ReportStore:
    """Save, list and read stored reports within the bounds of ``settings.reports``."""

    def __init__(
        self, connection: redis.Redis, clock: Callable[[], datetime], settings: ReportSettings
    ) -> None:
        self.redis = connection
        self.clock = clock
        self.settings = settings

    @property
    def retention_s(self) -> int:
        return self.settings.retention_days * 86400

    def save(self, report: Report) -> Report:
        """Store ``report`` (trimmed to the size bound); returns what was stored."""
        stored = fit(report, self.settings.max_bytes)
        score = datetime.fromisoformat(stored.generated_at).timestamp()
        floor = self.clock().timestamp() - self.retention_s
        pipe = self.redis.pipeline()
        pipe.set(PREFIX + stored.id, stored.model_dump_json(), ex=self.retention_s)
        for key in (INDEX, KIND_INDEX + stored.kind):
            pipe.zadd(key, {stored.id: score})
            pipe.zremrangebyscore(key, "-inf", floor)
        pipe.execute()
        self._evict(stored.kind)
        return stored

    def _evict(self, kind: str) -> None:
        """Delete the oldest reports of ``kind`` beyond ``max_per_kind``."""
        extra = self.redis.zcard(KIND_INDEX + kind) - self.settings.max_per_kind
        if extra <= 0:
            return
        oldest = [as_text(raw) for raw in self.redis.zrange(KIND_INDEX + kind, 0, extra - 1)]
        pipe = self.redis.pipeline()
        for old in oldest:
            pipe.delete(PREFIX + old)
            pipe.zrem(KIND_INDEX + kind, old)
            pipe.zrem(INDEX, old)
        pipe.execute()
        log.info("reports: deleted %d old %s report(s) beyond max_per_kind", len(oldest), kind)

    def get(self, report_id: str) -> Report:
        raw = self.redis.get(PREFIX + report_id)
        if raw is None:
            raise NotFound(f"no report {report_id}")
        return Report.model_validate_json(raw)

    def list(self, kind: str | None = None, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """Summaries of stored reports, newest first."""
        key = KIND_INDEX + kind if kind else INDEX
        floor = self.clock().timestamp() - self.retention_s
        ids = [as_text(raw) for raw in self.redis.zrevrangebyscore(key, "+inf", floor, start=0, num=limit)]
        if not ids:
            return []
        items = []
        for raw in self.redis.mget([PREFIX + one for one in ids]):
            if raw is not None:
                items.append(summary(Report.model_validate_json(raw)))
        return items

    def previous(self, kind: str, before: datetime) -> Report | None:
        """The newest stored report of ``kind`` generated strictly before ``before``."""
        found = self.redis.zrevrangebyscore(
            KIND_INDEX + kind, f"({before.timestamp()}", "-inf", start=0, num=5
        )
        for raw_id in found:
            try:
                return self.get(as_text(raw_id))
            except NotFound:
                continue  # expired; its index entry goes with retention
        return None


# --- the job ------------------------------------------------------------------------------------------


def run_report(context: Any, kind: str, options: dict[str, Any] | None = None) -> Report:
    """Build the ``kind`` report for now with the registry's workflow, compare and store it; record and
    notify. Errors are recorded in the run's audit record and raised."""
    from workers.integrations.notify import sinks
    from workers.spine.workflow import ReportInputs

    workflow = context.workflows.report(kind)
    store = ReportStore(context.redis, context.clock, context.settings.reports)
    now = context.clock()
    the_id = report_id(kind, now)
    record_id = f"report-{the_id}"
    context.records.open(
        record_id, {"rule": f"report:{kind}", "report_id": the_id, "created_at": now.isoformat()}
    )
    context.records.append(record_id, "report_started", {"kind": kind, "workflow": workflow.name})
    try:
        prometheus = context.prometheus
    except Exception as exc:
        log.warning("reports: no Prometheus client: %s", exc)
        prometheus = None
    try:
        previous = store.previous(kind, now)
        inputs = ReportInputs(
            settings=context.settings,
            kube=context.kube,
            prometheus=prometheus,
            now=now,
            options=options or {},
            records=context.records,
            proposals=context.proposals,
        )
        report = workflow.build(inputs, previous)
        report = report.model_copy(update={"id": the_id, "record_id": record_id})
        stored = store.save(report)
    except Exception as exc:
        context.records.append(
            record_id, "report_failed", {"kind": kind, "error": f"{type(exc).__name__}: {exc}"}
        )
        log.exception("reports: the %s report failed", kind)
        if isinstance(exc, PermanentError) and not isinstance(exc, NotFound):
            raise
        raise TemporaryError(f"{kind} report failed: {exc}") from exc
    body = sinks.report_message(stored, context.settings.notify.public_url)
    outcomes = sinks.deliver(context.settings.notify, body)
    context.records.append(
        record_id,
        "report_stored",
        {
            "report_id": stored.id,
            "score": stored.score,
            "grade": stored.grade,
            "link": body["link"],
            "findings": summary(stored)["findings"],
            "notes": stored.notes,
            "notified": outcomes,
        },
    )
    escalate(context, stored, record_id)
    return stored


def escalate(context: Any, stored: Report, record_id: str) -> None:
    """Notify every sink at once of ``stored``'s new critical findings, and record it (no-op without)."""
    from workers.integrations.notify import sinks

    body = sinks.escalation_message(stored, context.settings.notify.public_url)
    if body is None:
        return
    outcomes = sinks.deliver(context.settings.notify, body)
    context.records.append(
        record_id,
        "escalation",
        {
            "event": body["event"],
            "findings": body["findings"],
            "link": body["link"],
            "notified": outcomes,
        },
    )
    log.warning("reports: %s in %s", body["event"], stored.id)


def report_job(kind: str) -> str:
    """RQ job: make and store the ``kind`` report now; returns its id."""
    from workers.spine.context import current

    try:
        return run_report(current(), kind).id
    except KeyError as exc:
        raise PermanentError(str(exc)) from exc


def schedule_report_job(kind: str) -> str:
    """RQ job cron runs: enqueue ``report_job(kind)`` with the retry options (cron's own has none)."""
    from workers.spine import queues
    from workers.spine.context import current

    context = current()
    job = queues.queue(queues.REPORTS, context.redis).enqueue_call(
        report_job, args=(kind,), **queues.rq_options(REPORT_OPTIONS)
    )
    return str(job.id)
