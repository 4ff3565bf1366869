"""``POST /api/v1/rightsizing`` (approver): analyse a namespace, or one workload, and park proposals.

The request is checked here (the namespace and the workload must exist and be permitted); the analysis
runs in a worker (``workers.workflows.rightsizing.jobs.rightsize_job``), which parks one
``patch-resources`` proposal per workload whose recommendation is ``ok``. The answer (202) names the job
and where its proposals appear.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from receiver.errors import InvalidPayload, NotFoundError
from receiver.request_scope import context, require
from workers.errors import NotFound
from workers.spine import queues
from workers.workflows.rightsizing import jobs
from workers.workflows.rightsizing.model import WORKLOAD_KINDS

blueprint = Blueprint("rightsizing_api", __name__, url_prefix="/api/v1")

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
FIELDS = {"namespace", "workload"}
JOB_OPTIONS: dict[str, Any] = {"job_timeout": 900, "result_ttl": 86400, "failure_ttl": 7 * 86400}


def _body() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise InvalidPayload("body must be JSON (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except ValueError as exc:
        raise InvalidPayload(f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidPayload("body must be a JSON object with a namespace")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidPayload(f"{unknown[0]}: unknown field (allowed: namespace, workload)", field=unknown[0])
    return body


def _namespace(body: dict[str, Any]) -> str:
    value = body.get("namespace")
    if not isinstance(value, str) or not value:
        raise InvalidPayload("namespace: required, a string", field="namespace")
    if not DNS_LABEL.match(value):
        raise InvalidPayload("namespace: not a Kubernetes namespace name", field="namespace")
    if not context().settings.namespaces.permits(value):
        raise InvalidPayload(
            f"namespace: {value} is denied by settings; it is never touched", field="namespace"
        )
    return value


def _workload(body: dict[str, Any]) -> tuple[str, str] | None:
    value = body.get("workload")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPayload("workload: must be a string KIND/NAME", field="workload")
    kind, sep, name = value.partition("/")
    if not sep or kind not in WORKLOAD_KINDS or not DNS_SUBDOMAIN.match(name):
        raise InvalidPayload(
            f"workload: must be KIND/NAME with KIND one of {', '.join(WORKLOAD_KINDS)}", field="workload"
        )
    return kind, name


@blueprint.post("/rightsizing")
def rightsize() -> tuple[Response, int]:
    identity = require("decide")
    body = _body()
    namespace, workload = _namespace(body), _workload(body)
    ctx = context()
    try:
        ctx.kube.get_namespace(namespace)
    except NotFound as exc:
        raise NotFoundError(f"namespace {namespace} not found") from exc
    if workload is not None:
        try:
            ctx.kube.get_workload(workload[0], namespace, workload[1])
        except NotFound as exc:
            raise NotFoundError(f"{workload[0]} {namespace}/{workload[1]} not found") from exc
    shown = f"{workload[0]}/{workload[1]}" if workload else None
    job = queues.queue(queues.REPORTS, ctx.redis).enqueue_call(
        jobs.rightsize_job, args=(namespace, shown, "api"), **queues.rq_options(JOB_OPTIONS)
    )
    return jsonify(
        {
            "namespace": namespace,
            "workload": shown,
            "requested_by": identity.name,
            "enqueued": {"job_id": job.id, "queue": queues.REPORTS},
            "parked": [],
            "proposals": f"/api/v1/approvals?workflow=rightsizing&namespace={namespace}",
        }
    ), 202
