"""The Flask application factory: wires the context, tokens, blueprints and JSON error handling."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from receiver import (
    api,
    health,
    metrics,
    reports_api,
    request_scope,
    rightsizing_api,
    rollouts_api,
    slack,
    ui,
    webhook,
)
from receiver.auth import TokenBook
from receiver.errors import ApiError, Unavailable
from workers.errors import AiopsError, StoreUnavailable
from workers.spine.context import Context

log = logging.getLogger(__name__)


def create_app(context: Context, tokens: TokenBook) -> Flask:
    """Build the receiver for ``context``; ``tokens`` decides who may do what."""
    app = Flask("receiver")
    app.config["MAX_CONTENT_LENGTH"] = context.settings.limits.max_body_bytes
    request_scope.install(app, context, tokens)
    metrics.install(app, context)
    app.register_blueprint(webhook.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(reports_api.blueprint)
    app.register_blueprint(rightsizing_api.blueprint)
    app.register_blueprint(rollouts_api.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(ui.blueprint)
    app.register_blueprint(slack.blueprint)
    _install_error_handlers(app)
    app.after_request(_security_headers)
    return app


# Every answer may carry proposals, records or tokens' effects: never cached, never sniffed, never framed.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _json_error(status: int, code: str, detail: str, **extra: Any) -> Response:
    response = jsonify({"error": code, "detail": detail, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="aiops-responder"'
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return _json_error(exc.status, exc.code, exc.detail, **exc.extra)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> Response:
        limit = app.config["MAX_CONTENT_LENGTH"]
        return _json_error(413, "payload_too_large", f"body larger than the limit of {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _json_error(
            exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
        )

    @app.errorhandler(StoreUnavailable)
    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def _store_down(exc: Exception) -> Response:
        log.warning("redis unavailable: %s", exc)
        return _json_error(503, Unavailable.code, "the queue store (Redis) is unreachable; retry later")

    @app.errorhandler(AiopsError)
    def _domain(exc: AiopsError) -> Response:
        status = int(getattr(exc, "status", 500))
        if status >= 500:
            log.exception("internal error")
            return _json_error(500, "internal_error", "internal error; see the server log")
        return _json_error(status, exc.code, str(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _json_error(500, "internal_error", "internal error; see the server log")
