"""Redaction for what advisers are sent and answer: the shared engine lives in ``workers.redaction``."""

from __future__ import annotations

from workers.redaction import REDACTED, is_secret_name, redact, redact_value

__all__ = ["REDACTED", "is_secret_name", "redact", "redact_value"]
