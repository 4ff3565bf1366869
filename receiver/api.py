"""The v1 API: approvals (list, show, approve, reject) and audit records (reports: ``reports_api``)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from receiver.errors import ConflictError, InvalidPayload, NotFoundError
from receiver.openapi import openapi_document
from receiver.request_scope import context, require
from workers.domain import STATES
from workers.errors import Conflict, NotFound
from workers.spine.lifecycle import approve, reject
from workers.spine.records import RecordStatus, parse_since, render_markdown

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def _json_body() -> dict[str, Any]:
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise InvalidPayload("body must be JSON (Content-Type: application/json)")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidPayload(f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidPayload("body must be a JSON object")
    return body


def _text_field(body: dict[str, Any], name: str, required: bool = False, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidPayload(f"{name}: required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidPayload(f"{name}: must be a string", field=name)
    if required and not value.strip():
        raise InvalidPayload(f"{name}: must not be empty", field=name)
    if len(value) > limit:
        raise InvalidPayload(f"{name}: longer than {limit} characters", field=name)
    return value


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@blueprint.get("/approvals")
def list_approvals() -> Response:
    require("read")
    status = request.args.get("status") or None
    if status is not None and status not in STATES:
        raise InvalidPayload(f"status: must be one of {', '.join(STATES)}", field="status")
    items = context().proposals.list(status=status, limit=_limit())
    return jsonify({"items": [item.to_json() for item in items]})


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError as exc:
        raise InvalidPayload("limit: must be an integer", field="limit") from exc
    if not 1 <= limit <= 500:
        raise InvalidPayload("limit: must be between 1 and 500", field="limit")
    return limit


@blueprint.get("/approvals/<proposal_id>")
def show_approval(proposal_id: str) -> Response:
    require("read")
    try:
        return jsonify(context().proposals.get(proposal_id).to_json())
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc


def _decide(proposal_id: str, decision: str) -> Response:
    identity = require("decide")
    body = _json_body()
    try:
        if decision == "approve":
            proposal = approve(context(), proposal_id, identity.name, _text_field(body, "comment"))
        else:
            proposal = reject(
                context(), proposal_id, identity.name, _text_field(body, "reason", required=True)
            )
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    except Conflict as exc:
        raise ConflictError(str(exc)) from exc
    return jsonify(proposal.to_json())


@blueprint.post("/approvals/<proposal_id>/approve")
def approve_view(proposal_id: str) -> Response:
    return _decide(proposal_id, "approve")


@blueprint.post("/approvals/<proposal_id>/reject")
def reject_view(proposal_id: str) -> Response:
    return _decide(proposal_id, "reject")


@blueprint.get("/records")
def list_records() -> Response:
    require("read")
    ctx = context()
    status = request.args.get("status") or None
    if status is not None and status not in RecordStatus.__members__:
        choices = ", ".join(RecordStatus)
        raise InvalidPayload(f"status: must be one of {choices}", field="status")
    rule = request.args.get("rule") or None
    since_text = request.args.get("since") or None
    try:
        since = parse_since(since_text, ctx.clock()) if since_text else None
    except ValueError as exc:
        raise InvalidPayload(str(exc), field="since") from exc
    limit = _limit()
    items = ctx.records.list(
        status=RecordStatus(status) if status else None, rule=rule, since=since, limit=limit
    )
    return jsonify({"items": items})


@blueprint.get("/records/<record_id>")
def show_record(record_id: str) -> Response:
    require("read")
    try:
        record = context().records.get(record_id)
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    if request.args.get("format") == "md":
        return Response(render_markdown(record), mimetype="text/markdown")
    return jsonify(record)
