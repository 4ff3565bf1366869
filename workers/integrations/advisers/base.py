"""The adviser interface and the shape of its answer, shared by every AI tool adapter.

An adviser is consulted after the built-in playbook has parked its proposal. It gets an
``AdviceRequest`` (the alert, target, evidence, the built-in diagnosis and a redacted, size-capped
question) and returns an ``AdviceResult``. Advisers only read and suggest: nothing they say is ever
executed, and every suggested command carries a read/mutating classification.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar

RiskLevel = Literal["read", "mutating", "unknown"]


class AdviceStatus(StrEnum):
    """How a consultation ended."""

    ok = "ok"
    """The adviser answered with something to show."""
    no_findings = "no_findings"
    """The adviser answered and found nothing wrong (or said nothing useful)."""
    timeout = "timeout"
    """No answer within the adviser's time slice; the call (or process group) was abandoned."""
    error = "error"
    """The adviser answered with a failure, or with something we could not read."""
    unavailable = "unavailable"
    """The adviser could not be reached or is not usable as configured."""
    skipped = "skipped"
    """Not consulted: not enabled, not allowlisted, breaker open or budget used up."""


# Outcomes that count against an adviser's circuit breaker.
FAILURE_STATUSES = frozenset({AdviceStatus.timeout, AdviceStatus.error, AdviceStatus.unavailable})


@dataclass
class Recommendation:
    """One thing an adviser suggests; shown to a person, never run."""

    text: str
    command: str | None = None
    risk: RiskLevel = "unknown"
    action: str | None = None
    """The allowlisted action this suggestion maps to (``rules.allowlist.ACTIONS``), if any."""
    params: dict[str, Any] = field(default_factory=dict)
    """Parameters for ``action`` read from the command (e.g. ``{"memory": "512Mi"}``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "command": self.command,
            "risk": self.risk,
            "action": self.action,
            "params": dict(self.params),
        }


@dataclass
class AdviceRequest:
    """What an adviser is asked; built by ``workers.integrations.advisers.prompt.build_request``."""

    alert: dict[str, Any]
    target: dict[str, Any]
    evidence: dict[str, Any]
    diagnosis: dict[str, Any]
    question: str
    """The short question (redacted)."""
    context: str = ""
    """The evidence rendered as text (redacted, capped so that ``prompt`` fits the size limit)."""

    @property
    def prompt(self) -> str:
        """The whole text an adviser receives: the question, then the evidence."""
        return f"{self.question}\n\n{self.context}" if self.context else self.question


@dataclass
class AdviceResult:
    """One adviser's answer, as recorded."""

    adviser: str
    status: AdviceStatus
    summary: str = ""
    findings: list[str] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    raw: str = ""
    """The answer text; ``consult`` truncates it to ``advisers.max_answer_chars`` and stores the rest."""
    full_text_ref: str | None = None
    """Redis key holding the full answer text for the retention period."""
    duration_s: float = 0.0
    question: str = ""
    """The text actually sent (redacted); empty when nothing was sent."""
    detail: str = ""
    """Why it was skipped, unavailable or failed."""

    @property
    def failed(self) -> bool:
        """True for outcomes that count against the circuit breaker."""
        return self.status in FAILURE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return {
            "adviser": self.adviser,
            "status": self.status.value,
            "summary": self.summary,
            "findings": list(self.findings),
            "recommendations": [rec.to_dict() for rec in self.recommendations],
            "raw": self.raw,
            "full_text_ref": self.full_text_ref,
            "duration_s": round(self.duration_s, 3),
            "question": self.question,
            "detail": self.detail,
        }

    def to_record_entry(self) -> dict[str, Any]:
        """The ``data`` of the ``advice`` record entry: the question, the answer and how it went."""
        entry = self.to_dict()
        entry["answer"] = entry.pop("raw")
        return entry


class Adviser(Protocol):
    """An AI tool (or the built-in playbook) asked for a second opinion.

    Implementations may also expose ``unavailable_reason: str``, which ``consult`` records when
    ``probe()`` returns False.
    """

    name: str
    timeout_s: float

    def probe(self) -> bool:
        """True when the adviser is usable as configured; cheap, no network round trip needed."""
        ...

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        """Ask the adviser; never raises for its failures, never blocks past ``timeout_s``."""
        ...


_MARKDOWN_NOISE = re.compile(r"^[#>*\-\s`]+|[*`_]+$")


def summarize_text(text: str, limit: int = 300) -> str:
    """The first meaningful line of a free-text answer, stripped of markdown decoration."""
    for line in text.splitlines():
        cleaned = _MARKDOWN_NOISE.sub("", line).strip()
        if len(cleaned) >= 3 and not cleaned.startswith("```"):
            return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return ""


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)")


def bullet_points(text: str, limit: int = 20) -> list[str]:
    """The bullet or numbered-list items of a free-text answer, in order."""
    items = []
    for line in text.splitlines():
        match = _BULLET.match(line)
        if match:
            items.append(match.group(1).strip())
            if len(items) >= limit:
                break
    return items


def truncate(text: str, limit: int, marker: str = "\n[… truncated; the full text is kept aside]") -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``marker`` when it was cut."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return text[:limit]
    return text[: limit - len(marker)] + marker


class _TimedSettings(Protocol):
    @property
    def timeout_s(self) -> float: ...


SettingsT = TypeVar("SettingsT", bound=_TimedSettings)


class ConfiguredAdviser(Generic[SettingsT]):
    """What every AI adapter keeps: its settings section, its timeout, a clock, and why it is unusable."""

    def __init__(self, settings: SettingsT, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.timeout_s = settings.timeout_s
        self.clock = clock
        self.unavailable_reason = ""
