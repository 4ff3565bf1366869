"""The periodic jobs, on RQ's cron scheduler (``aiops cron``): they only enqueue; workers run them."""

from __future__ import annotations

from rq.cron import CronScheduler

from workers.settings import Settings
from workers.spine import inbox, lifecycle, queues, reports
from workers.spine.context import Context
from workers.workflows.rightsizing import jobs as rightsizing


def build_scheduler(context: Context, settings: Settings) -> CronScheduler:
    """The scheduler with every periodic job registered: expiry and the weekly reports."""
    scheduler = CronScheduler(connection=context.redis, name="aiops-cron")
    scheduler.register(
        lifecycle.expire_job,
        queues.ALERTS,
        interval=settings.schedules.expire_interval_s,
        job_timeout=300,
        name="expire-proposals",
    )
    scheduler.register(
        inbox.kick_job, queues.ALERTS, interval=INBOX_KICK_INTERVAL_S, job_timeout=60, name="intake-kick"
    )
    register_reports(scheduler, settings)
    register_rightsizing(scheduler, settings)
    return scheduler


INBOX_KICK_INTERVAL_S = 30
"""How often deferred intake is looked at for payloads whose drainer died (``inbox.kick``)."""

REPORT_SCHEDULES = (("health", "health_report_cron"), ("security", "security_audit_cron"))
"""Report kind -> the ``schedules`` setting holding its cron expression."""


def register_reports(scheduler: CronScheduler, settings: Settings) -> None:
    """The weekly reports. RQ matches cron fields against the scheduler's local time, so ``aiops cron``
    runs in UTC (``receiver.runtime.use_utc_clock``) for the documented 00:00 UTC. A kind without a report
    workflow in the registry is still scheduled: its run fails and is recorded."""
    for kind, setting in REPORT_SCHEDULES:
        scheduler.register(
            reports.schedule_report_job,
            queues.REPORTS,
            args=(kind,),
            cron=getattr(settings.schedules, setting),
            job_timeout=60,
            name=f"{kind}-report",
        )


def register_rightsizing(scheduler: CronScheduler, settings: Settings) -> None:
    """The daily right-sizing of ``rightsizing.namespaces`` (``rightsizing.schedule_cron``, UTC like the
    reports); an empty expression turns it off."""
    if not settings.rightsizing.schedule_cron.strip():
        return
    scheduler.register(
        rightsizing.schedule_job,
        queues.REPORTS,
        cron=settings.rightsizing.schedule_cron,
        job_timeout=1800,
        name="rightsizing",
    )
