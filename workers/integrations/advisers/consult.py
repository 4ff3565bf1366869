"""Consult a rule's advisers in order, within one overall time budget, and keep what they said.

The built-in adviser always answers first. Then each name of the rule's ``evidence.ai`` list, in
order, gets ``min(its own timeout, what is left of advisers.budget_s)``; advisers that are not
allowlisted, not enabled, behind an open circuit breaker or out of budget are skipped with the
reason. Failures (timeout, error, unavailable) count against the adviser's breaker; an answer
resets it. Answers are redacted like questions (a tool may quote a secret it read), each full
answer is kept in Redis under ``aiops:advice:{uuid}`` for the retention period, and the inline copy
is cut to ``advisers.max_answer_chars``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from redis import Redis, RedisError

from workers.errors import StoreUnavailable
from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    Adviser,
    Recommendation,
    truncate,
)
from workers.integrations.advisers.breaker import Breaker
from workers.integrations.advisers.builtin import NAME as BUILTIN
from workers.integrations.advisers.builtin import BuiltinAdviser
from workers.integrations.advisers.prompt import build_request
from workers.integrations.advisers.redaction import redact
from workers.integrations.advisers.registry import build_advisers, disabled_reason
from workers.settings import Settings

ADVICE_PREFIX = "aiops:advice:"
RECORD_KIND = "advice"
# Below this much budget an adviser is not started: it could not answer anyway.
MIN_SLICE_S = 0.5

log = logging.getLogger(__name__)


def ordered_names(names: Iterable[str]) -> list[str]:
    """The built-in adviser first, then ``names`` in order without repeats."""
    ordered = [BUILTIN]
    for name in names:
        if name not in ordered:
            ordered.append(name)
    return ordered


def store_full_text(connection: Redis, text: str, retention_days: int) -> str:
    """Keep ``text`` under a fresh ``aiops:advice:{uuid}`` key for the retention period; returns the key."""
    key = f"{ADVICE_PREFIX}{uuid.uuid4()}"
    try:
        connection.set(key, text.encode("utf-8"), ex=retention_days * 86400)
    except RedisError as exc:
        raise StoreUnavailable(f"redis: cannot store adviser answer: {exc}") from exc
    return key


def _skip(name: str, detail: str) -> AdviceResult:
    return AdviceResult(adviser=name, status=AdviceStatus.skipped, detail=detail)


def _redact_answer(result: AdviceResult) -> None:
    """Answers can quote what a tool read in the cluster: keep secrets out of records too."""
    result.summary = redact(result.summary)
    result.findings = [redact(finding) for finding in result.findings]
    result.raw = redact(result.raw)
    result.detail = redact(result.detail)
    for rec in result.recommendations:
        rec.text = redact(rec.text)
        rec.command = redact(rec.command) if rec.command else rec.command


def _ask(
    adviser: Adviser, request: AdviceRequest, slice_s: float, clock: Callable[[], float]
) -> AdviceResult:
    started = clock()
    if not adviser.probe():
        reason = getattr(adviser, "unavailable_reason", "") or "probe failed"
        result = AdviceResult(adviser=adviser.name, status=AdviceStatus.unavailable, detail=reason)
    else:
        try:
            result = adviser.advise(request, slice_s)
        except Exception as exc:  # an adapter bug must not cost the other advisers their turn
            log.exception("adviser %s raised", adviser.name)
            detail = f"adapter raised {exc.__class__.__name__}: {exc}"
            result = AdviceResult(adviser=adviser.name, status=AdviceStatus.error, detail=detail)
    result.adviser = adviser.name
    _redact_answer(result)
    if not result.duration_s:
        result.duration_s = clock() - started
    return result


def consult(
    names: list[str],
    *,
    alert: Mapping[str, Any],
    target: Mapping[str, Any],
    evidence: Mapping[str, Any],
    diagnosis: Any,
    settings: Settings,
    redis: Redis,
    clock: Callable[[], float] = time.monotonic,
    advisers: Mapping[str, Adviser] | None = None,
) -> list[AdviceResult]:
    """Ask the built-in adviser, then each adviser in ``names`` (a rule's ``evidence.ai``), in order.

    ``diagnosis`` is the playbook's ``Diagnosis`` (a dataclass, model or dict). ``advisers`` replaces
    the ones built from ``settings`` (tests, or a caller that keeps them). Returns one result per
    name, in order, the built-in one first. Raises ``StoreUnavailable`` when Redis cannot be used.
    """
    config = settings.advisers
    request = build_request(alert, target, evidence, diagnosis, config.max_prompt_bytes)
    available = dict(advisers) if advisers is not None else build_advisers(settings, clock)
    available.setdefault(BUILTIN, BuiltinAdviser())
    breaker = Breaker(redis, config)
    started = clock()
    results: list[AdviceResult] = []
    for name in ordered_names(names):
        if name not in available:
            reason = disabled_reason(name, config) or "no adviser of that name is configured"
            results.append(_skip(name, reason))
            continue
        state = breaker.state(name) if name != BUILTIN else None
        if state is not None and state.open:
            results.append(_skip(name, state.describe(config.breaker_failures)))
            continue
        remaining = config.budget_s - (clock() - started)
        if name != BUILTIN and remaining < MIN_SLICE_S:
            left = max(0.0, remaining)
            results.append(
                _skip(name, f"overall adviser budget of {config.budget_s:g}s used up ({left:.1f}s left)")
            )
            continue
        adviser = available[name]
        result = _ask(adviser, request, max(MIN_SLICE_S, min(adviser.timeout_s, remaining)), clock)
        if name != BUILTIN:
            if result.failed:
                breaker.record_failure(name, f"{result.status.value}: {result.detail}")
            elif result.status in (AdviceStatus.ok, AdviceStatus.no_findings):
                breaker.record_success(name)
        if result.raw:
            result.full_text_ref = store_full_text(redis, result.raw, settings.proposals.retention_days)
            marker = f"\n[… truncated; full text at {result.full_text_ref}]"
            result.raw = truncate(result.raw, config.max_answer_chars, marker)
        results.append(result)
    return results


def record_entries(results: Iterable[AdviceResult]) -> list[dict[str, Any]]:
    """One audit-record entry per result: ``{"kind": "advice", "data": {...}}`` for ``RecordStore.append``."""
    return [{"kind": RECORD_KIND, "data": result.to_record_entry()} for result in results]


def suggested_actions(
    results: Iterable[AdviceResult], allowed: Iterable[str]
) -> list[tuple[str, Recommendation]]:
    """(adviser, recommendation) pairs whose suggestion maps to an action in ``allowed``.

    These may be parked as alternative proposals; approval is always required for them, whatever
    the rule says.
    """
    allowed_set = set(allowed)
    return [
        (result.adviser, rec)
        for result in results
        if result.status == AdviceStatus.ok
        for rec in result.recommendations
        if rec.action and rec.action in allowed_set
    ]


def read_full_text(connection: Redis, ref: str) -> str | None:
    """The full answer kept under ``ref``, or None once it expired."""
    if not ref.startswith(ADVICE_PREFIX):
        raise ValueError(f"not an adviser answer key: {ref}")
    raw = connection.get(ref)
    if raw is None:
        return None
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
