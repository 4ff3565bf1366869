"""The rollouts API: start a gate (approver), list gates and show one with its rounds (viewer)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from receiver.errors import ConflictError, InvalidPayload, NotFoundError
from receiver.request_scope import context, require
from workers.errors import ActionRefused, Conflict, NotFound
from workers.workflows.rollout_gate import gate as engine
from workers.workflows.rollout_gate.model import GateState, Trigger

blueprint = Blueprint("rollouts_api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 200
FIELDS = ("namespace", "deployment")


def _body() -> dict[str, str]:
    data: Any = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidPayload("the body must be a JSON object with namespace and deployment", field="body")
    found = {}
    for name in FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidPayload(f"{name}: a non-empty string is required", field=name)
        if len(value) > 253:
            raise InvalidPayload(f"{name}: longer than 253 characters", field=name)
        found[name] = value.strip()
    return found


@blueprint.post("/rollouts")
def start_gate() -> tuple[Response, int]:
    identity = require("decide")
    body = _body()
    try:
        gate = engine.start(
            context(), body["namespace"], body["deployment"], Trigger.api, requested_by=identity.name
        )
    except NotFound as exc:
        raise NotFoundError(f"no deployment {body['namespace']}/{body['deployment']}: {exc}") from exc
    except Conflict as exc:
        raise ConflictError(str(exc)) from exc
    except ActionRefused as exc:  # a denied namespace: never touched
        raise InvalidPayload(f"namespace: {exc}", field="namespace") from exc
    return jsonify(gate.model_dump(mode="json")), 202


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError as exc:
        raise InvalidPayload("limit: must be an integer", field="limit") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidPayload(f"limit: must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


@blueprint.get("/rollouts")
def list_gates() -> Response:
    require("read")
    state = request.args.get("state") or None
    if state is not None and state not in GateState.__members__:
        raise InvalidPayload(f"state: must be one of {', '.join(GateState)}", field="state")
    gates = engine.store_of(context()).list(
        namespace=request.args.get("namespace") or None,
        deployment=request.args.get("deployment") or None,
        state=GateState(state) if state else None,
        limit=_limit(),
    )
    return jsonify({"items": [gate.model_dump(mode="json") for gate in gates]})


@blueprint.get("/rollouts/<gate_id>")
def show_gate(gate_id: str) -> Response:
    require("read")
    try:
        gate = engine.store_of(context()).get(gate_id)
    except NotFound as exc:
        raise NotFoundError(str(exc)) from exc
    return jsonify(gate.model_dump(mode="json"))
