"""Errors of the sandbox package, under one root.

``ScenarioError`` means a scenario folder is unusable (fix the files, then load again).
``ApiError`` and its subclasses are Kubernetes API failures: the server turns each into a
``Status`` object with the HTTP code and ``reason`` that a real API server would send.
"""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """Root of every error raised by the sandbox's own code."""


class ScenarioError(SandboxError):
    """A scenario folder cannot be loaded; ``problems`` lists each one as ``file: object: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid sandbox scenario:\n  " + "\n  ".join(self.problems))


class ApiError(SandboxError):
    """A request failed the way a Kubernetes API server fails it: ``to_status()`` is the body."""

    code = 500
    reason = "InternalError"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(ApiError):
    """The request is malformed (undecodable body, bad selector, missing log)."""

    code = 400
    reason = "BadRequest"


class Unauthorized(ApiError):
    """No bearer token, or one the sandbox does not know."""

    code = 401
    reason = "Unauthorized"


class Forbidden(ApiError):
    """The token is known but its role does not allow the verb."""

    code = 403
    reason = "Forbidden"


class NotFound(ApiError):
    """The object, namespace or path does not exist."""

    code = 404
    reason = "NotFound"


class MethodNotAllowed(ApiError):
    """The HTTP method is not supported on this path."""

    code = 405
    reason = "MethodNotAllowed"


class AlreadyExists(ApiError):
    """A create named an object that exists."""

    code = 409
    reason = "AlreadyExists"


class Conflict(ApiError):
    """A write carried a stale resourceVersion, or a precondition failed."""

    code = 409
    reason = "Conflict"


class Expired(ApiError):
    """A watch asked for a resourceVersion older than the sandbox keeps."""

    code = 410
    reason = "Expired"


class UnsupportedMediaType(ApiError):
    """A PATCH used a content type the API does not accept."""

    code = 415
    reason = "UnsupportedMediaType"


class Invalid(ApiError):
    """The object fails schema or semantic validation; ``details.causes`` names each field."""

    code = 422
    reason = "Invalid"

    @classmethod
    def for_object(cls, kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> Invalid:
        """Build the error from ``(field, message)`` pairs, worded like the API server's."""
        qualified = f"{kind}.{group}" if group else kind
        text = ", ".join(f"{field}: {message}" for field, message in causes)
        details = {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [
                {"reason": "FieldValueInvalid", "message": message, "field": field}
                for field, message in causes
            ],
        }
        return cls(f'{qualified} "{name}" is invalid: {text}', details)


def not_found(plural: str, group: str, name: str) -> NotFound:
    """The API server's wording for a missing object, e.g. ``pods "x" not found``."""
    resource = f"{plural}.{group}" if group else plural
    return NotFound(f'{resource} "{name}" not found', {"name": name, "group": group, "kind": plural})


def success_status(plural: str, group: str, name: str, uid: str) -> dict[str, Any]:
    """The ``Status`` a delete returns for objects removed at once."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": group, "kind": plural, "uid": uid},
    }
