"""Errors of the workers package, under one root, each saying what the caller should do next.

``TemporaryError`` means "retry later" (RQ retries with backoff); ``PermanentError`` means
"record and stop". The client-facing subclasses carry the HTTP status the receiver maps them to.
"""

from __future__ import annotations


class AiopsError(Exception):
    """Root of every error raised by aiops-responder's own code."""

    code = "error"


class SettingsError(AiopsError):
    """A setting is missing or invalid; start-up stops with a message naming it."""

    code = "invalid_settings"


class TemporaryError(AiopsError):
    """A dependency failed in a way that may pass (timeout, 5xx, connection refused): retry."""

    code = "temporary"


class PermanentError(AiopsError):
    """Retrying cannot help (target gone, rule invalid, action refused): record and stop."""

    code = "permanent"


class NotFound(PermanentError):
    """The object asked for does not exist."""

    code = "not_found"
    status = 404


class Conflict(PermanentError):
    """The object is not in a state that allows the change (e.g. proposal not pending)."""

    code = "conflict"
    status = 409


class ActionRefused(PermanentError):
    """A safety guard refused the action: denied namespace, not allowlisted, precondition failed."""

    code = "action_refused"


class StoreUnavailable(TemporaryError):
    """Redis could not be reached."""

    code = "store_unavailable"


class JobRefused(PermanentError):
    """A worker was handed a job that is not one of the responder's own (function, callback or data): it is
    failed without being run, whoever enqueued it."""

    code = "job_refused"
