"""Errors the receiver answers with: each maps to an HTTP status and a JSON body ``{error, detail}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Root of the receiver's errors; ``status`` is the HTTP status, ``code`` the machine-readable name."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class InvalidPayload(ApiError):
    status, code = 400, "invalid_payload"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFoundError(ApiError):
    status, code = 404, "not_found"


class ConflictError(ApiError):
    status, code = 409, "conflict"


class UnsupportedMediaType(ApiError):
    status, code = 415, "unsupported_media_type"


class Unavailable(ApiError):
    status, code = 503, "unavailable"


class ClientError(Exception):
    """A CLI verb's call to the receiver failed; ``exit_code`` tells scripts why (see ``EXIT_CODES``)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Exit codes of the CLI verbs that call the receiver (aiops approvals, aiops records).
EXIT_CODES = {
    1: "the receiver refused the request (400) or failed (5xx)",
    2: "configuration: no token, unreadable token file, bad setting",
    3: "the receiver could not be reached (cli.url, env AIOPS_CLI_URL)",
    4: "401: the token was not accepted",
    5: "403: the token's role may not do this (deciding needs an approver token)",
    6: "404: no such proposal or record",
    7: "409: the proposal is not pending (already decided, expired or superseded)",
}
