"""RQ entry points. Each one takes plain arguments, fetches the worker's context and delegates.

Errors follow the package's contract: ``TemporaryError`` propagates so that RQ retries with backoff;
``PermanentError`` is recorded and the job ends.
"""

from __future__ import annotations

import logging
from typing import Any

from rules.errors import RuleError
from workers.errors import PermanentError
from workers.spine import investigation
from workers.spine import lifecycle as execution
from workers.spine.context import current

log = logging.getLogger(__name__)


def investigate(alert: dict[str, Any], rule_name: str) -> str | None:
    context = current()
    try:
        return investigation.investigate(context, alert, rule_name)
    except (PermanentError, RuleError) as exc:  # a rule that cannot render this alert: retrying won't help
        inv = investigation.investigation_id(rule_name, alert)
        context.records.append(f"r-{inv}", "investigation_failed", {"error": str(exc), "retry": False})
        log.warning("investigation %s failed permanently: %s", inv, exc)
        return None


def fan_out(batch: list[dict[str, Any]]) -> int:
    from workers.spine.intake import fan_out as enqueue_each

    return enqueue_each(current().redis, batch)


def alert_resolved(alert: dict[str, Any]) -> list[str]:
    return execution.supersede_for_alert(current(), alert)


def execute(proposal_id: str) -> str:
    return execution.execute(current(), proposal_id)


def execute_failed(job: Any, connection: Any, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    """RQ failure callback (also for abandoned jobs): an execution that died is `unknown`, never retried."""
    proposal_id = job.args[0] if job.args else None
    if proposal_id:
        execution.mark_unknown(
            current(),
            proposal_id,
            f"execute job failed: {exc_type.__name__ if exc_type else ''} {exc_value or ''}".strip(),
        )


def validate(proposal_id: str, round_: int = 0) -> str:
    return execution.validate(current(), proposal_id, round_)


def expire() -> list[str]:
    return execution.expire_pending(current())


def consult_advisers(proposal_id: str, advisers: list[str], evidence: dict[str, Any]) -> int:
    from workers.spine.advice import attach_advice

    return attach_advice(current(), proposal_id, advisers, evidence)
