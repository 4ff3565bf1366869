"""The reports API (viewer): stored reports listed newest first, and one report as json, md or html."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from receiver.errors import InvalidPayload, NotFoundError
from receiver.request_scope import context, require
from workers.errors import NotFound
from workers.spine.report_render import CSP, render
from workers.spine.reports import ReportStore

blueprint = Blueprint("reports_api", __name__, url_prefix="/api/v1")

FORMATS = {"json": "application/json", "md": "text/markdown", "html": "text/html"}
MAX_LIMIT = 200


def _store() -> ReportStore:
    ctx = context()
    return ReportStore(ctx.redis, ctx.clock, ctx.settings.reports)


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", "20"))
    except ValueError as exc:
        raise InvalidPayload("limit: must be an integer", field="limit") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidPayload(f"limit: must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


@blueprint.get("/reports")
def list_reports() -> Response:
    require("read")
    kind = request.args.get("kind") or None
    known = sorted(context().workflows.reports)
    if kind is not None and kind not in known:
        raise InvalidPayload(f"kind: must be one of {', '.join(known)}", field="kind")
    return jsonify({"items": _store().list(kind=kind, limit=_limit())})


@blueprint.get("/reports/<report_id>")
def show_report(report_id: str) -> Response:
    require("read")
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidPayload(f"format: must be one of {', '.join(FORMATS)}", field="format")
    try:
        report = _store().get(report_id)
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    response = Response(render(report, fmt), mimetype=FORMATS[fmt])
    if fmt == "html":
        response.headers["Content-Security-Policy"] = CSP
    return response
