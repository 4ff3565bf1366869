"""The job catalog: every function RQ may run for the responder, and the callbacks it registers.

Jobs are module-level functions of the spine module that owns the behaviour (an investigation, an
execution, a validation round, ...); they are enqueued by reference there. This list is the RQ
boundary's view of them: the worker runs a job only if its function is named here
(``workers.runner.worker``), and cron schedules from it.

Errors follow the package's contract: ``TemporaryError`` propagates so that RQ retries with backoff;
``PermanentError`` is recorded and the job ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workers.integrations.notify import slack
from workers.spine import advice, inbox, intake, investigation, lifecycle, reports
from workers.workflows.rightsizing import jobs as rightsizing
from workers.workflows.rollout_gate import gate as rollout_gate

JOBS: tuple[Callable[..., Any], ...] = (
    investigation.investigate_job,
    intake.fan_out_job,
    intake.siblings_job,
    inbox.drain_job,
    inbox.kick_job,
    lifecycle.alert_resolved_job,
    lifecycle.execute_job,
    lifecycle.validate_job,
    lifecycle.expire_job,
    advice.advise_job,
    reports.schedule_report_job,
    reports.report_job,
    rightsizing.rightsize_job,
    rightsizing.schedule_job,
    slack.respond_job,
    rollout_gate.look_job,
    rollout_gate.start_job,
)
"""What the receiver, the workers and cron enqueue."""
CALLBACKS: tuple[Callable[..., Any], ...] = (lifecycle.execute_failed,)
"""What RQ calls back (an execution that failed or whose worker died)."""


def dotted(function: Callable[..., Any]) -> str:
    """The name RQ stores for ``function``."""
    return f"{function.__module__}.{function.__qualname__}"
