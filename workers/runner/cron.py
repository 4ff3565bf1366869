"""The periodic jobs, on RQ's cron scheduler (``aiops cron``): they only enqueue; workers run them."""

from __future__ import annotations

from rq.cron import CronScheduler

from workers.settings import Settings
from workers.spine import lifecycle, queues
from workers.spine.context import Context


def build_scheduler(context: Context, settings: Settings) -> CronScheduler:
    """The scheduler with every periodic job registered (weekly reports join here)."""
    scheduler = CronScheduler(connection=context.redis, name="aiops-cron")
    scheduler.register(
        lifecycle.expire_job,
        queues.ALERTS,
        interval=settings.schedules.expire_interval_s,
        job_timeout=300,
        name="expire-proposals",
    )
    return scheduler
