"""Time as the spine stores it: UTC, RFC 3339 with microseconds and a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """The default clock; tests pass their own."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``moment`` as stored: ``2026-12-01T10:00:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """The inverse of ``iso`` (any RFC 3339 text with ``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expiry_after(now: datetime, seconds: int) -> str:
    """The stored time ``seconds`` after ``now``."""
    return iso(now + timedelta(seconds=seconds))
