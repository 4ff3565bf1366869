"""The OpenAPI 3.1 document of the HTTP API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from workers.domain import STATES
from workers.spine.records import RecordStatus

ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(ok: dict[str, Any], *codes: int) -> dict[str, Any]:
    text = {
        400: "invalid input",
        401: "no or unknown token",
        403: "role not allowed",
        404: "not found",
        409: "not pending",
        413: "body too large",
        415: "not JSON",
        503: "queue store unreachable",
    }
    responses = dict(ok)
    for code in codes:
        responses[str(code)] = {"description": text[code], "content": {"application/json": {"schema": ERROR}}}
    return responses


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROPOSAL = {"$ref": "#/components/schemas/Proposal"}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
}


REPORT_SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string"},
        "period_start": {"type": "string"},
        "period_end": {"type": "string"},
        "generated_at": {"type": "string"},
        "score": {"type": ["number", "null"]},
        "grade": {"type": ["string", "null"]},
        "findings": {"type": "object", "additionalProperties": {"type": "integer"}},
        "record_id": {"type": ["string", "null"]},
    },
}


GATE_ROUND = {
    "type": "object",
    "properties": {
        "round": {"type": "integer"},
        "at": {"type": "string"},
        "new_error_rate": {"type": ["number", "null"], "description": "5xx share of the new ReplicaSet"},
        "old_error_rate": {"type": ["number", "null"], "description": "5xx share of the old ReplicaSet"},
        "new_request_rate": {"type": ["number", "null"], "description": "requests/s to the new ReplicaSet"},
        "old_request_rate": {"type": ["number", "null"]},
        "updated_replicas": {"type": ["integer", "null"]},
        "verdict": {"enum": ["healthy", "failing", "inconclusive"]},
        "reason": {"type": "string"},
    },
}
GATE_STATES = ["waiting", "running", "halting", "halted", "continued", "inconclusive", "aborted"]
GATE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "namespace", "deployment", "state", "rounds", "record_id"],
    "properties": {
        "id": {"type": "string"},
        "namespace": {"type": "string"},
        "deployment": {"type": "string"},
        "state": {
            "enum": ["waiting", "running", "halting", "halted", "continued", "inconclusive", "aborted"]
        },
        "trigger": {"enum": ["api", "watch", "alert"]},
        "requested_by": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "deadline": {"type": ["string", "null"]},
        "new_replicaset": {"type": ["string", "null"]},
        "old_replicaset": {"type": ["string", "null"]},
        "config": {"type": "object", "description": "the analysis settings in force (rule over settings)"},
        "rounds": {"type": "array", "items": GATE_ROUND},
        "decision": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "proposals": {
            "type": "object",
            "description": "parked proposals by action: rollout-pause, rollout-undo, rollout-resume",
            "additionalProperties": {"type": "string"},
        },
        "alerts": {"type": "array", "items": {"type": "object"}, "description": "alerts that joined"},
        "record_id": {"type": "string"},
    },
}


def openapi_document() -> dict[str, Any]:
    states = list(STATES)
    record_states = [status.value for status in RecordStatus]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "aiops-responder",
            "version": "1",
            "description": "Alertmanager webhook, approval queue, audit records and reports.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {
                        "error": {"type": "string"},
                        "detail": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
                "Alert": {
                    "type": "object",
                    "required": ["status", "labels", "startsAt"],
                    "properties": {
                        "status": {"enum": ["firing", "resolved"]},
                        "labels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "required": ["alertname"],
                        },
                        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                        "startsAt": {"type": "string", "format": "date-time"},
                        "endsAt": {"type": "string"},
                        "generatorURL": {"type": "string"},
                        "fingerprint": {"type": "string"},
                    },
                },
                "Webhook": {
                    "type": "object",
                    "required": ["version", "alerts"],
                    "properties": {
                        "version": {"const": "4"},
                        "status": {"enum": ["firing", "resolved"]},
                        "receiver": {"type": "string"},
                        "groupKey": {"type": "string"},
                        "truncatedAlerts": {"type": "integer", "minimum": 0},
                        "groupLabels": {"type": "object"},
                        "commonLabels": {"type": "object"},
                        "commonAnnotations": {"type": "object"},
                        "externalURL": {"type": "string"},
                        "notification_reason": {"type": "string"},
                        "routeLabels": {"type": "object"},
                        "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
                    },
                },
                "IntakeResult": {
                    "type": "object",
                    "description": "alerts.intake inline: what the payload made. deferred: only received, "
                    "and deferred: true (the workers deduplicate and queue; the counts reach /metrics).",
                    "required": ["received"],
                    "properties": {
                        **{
                            key: {"type": "integer"}
                            for key in ("received", "enqueued", "duplicates", "unmatched", "truncatedAlerts")
                        },
                        "deferred": {"type": "boolean"},
                    },
                },
                "Proposal": {
                    "type": "object",
                    "required": ["id", "status", "rule", "target", "action"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"enum": states},
                        "rule": {"type": "string"},
                        "playbook": {"type": "string"},
                        "alert": {"type": "object"},
                        "target": {"type": "object"},
                        "diagnosis": {"type": "object"},
                        "action": {"type": "object"},
                        "risk": {"enum": ["low", "medium", "high"]},
                        "approval": {"enum": ["required", "auto"]},
                        "expected_outcome": {"type": "string"},
                        "validation_plan": {"type": "object"},
                        "created_at": {"type": "string"},
                        "expires_at": {"type": "string"},
                        "decided_by": {"type": ["string", "null"]},
                        "decided_at": {"type": ["string", "null"]},
                        "comment": {"type": ["string", "null"]},
                        "execution": {"type": "object"},
                        "validation": {"type": "object"},
                        "advice": {"type": "array"},
                        "record_id": {"type": "string"},
                    },
                },
                "RecordSummary": {
                    "type": "object",
                    "required": ["id", "status", "entries"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"enum": [*record_states, None]},
                        "rule": {"type": ["string", "null"]},
                        "alertname": {"type": ["string", "null"]},
                        "target": {"type": ["object", "null"]},
                        "proposal_id": {"type": ["string", "null"]},
                        "created_at": {"type": ["string", "null"]},
                        "updated_at": {"type": ["string", "null"], "description": "time of the latest entry"},
                        "last_kind": {"type": ["string", "null"], "description": "kind of the latest entry"},
                        "entries": {"type": "integer", "description": "number of entries"},
                    },
                },
                "Record": {
                    "type": "object",
                    "required": ["id", "entries"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"enum": [*record_states, None]},
                        "entries": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "seq": {"type": "integer"},
                                    "at": {"type": "string"},
                                    "kind": {"type": "string"},
                                    "data": {"type": "object"},
                                },
                            },
                        },
                    },
                },
            },
        },
        "paths": {
            "/webhooks/alertmanager": {
                "post": {
                    "summary": "Receive an Alertmanager webhook (version 4). Role: webhook.",
                    "security": [{"bearer": []}, {"basic": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Webhook"}}},
                    },
                    "responses": _responses(
                        {"202": _json({"$ref": "#/components/schemas/IntakeResult"}, "queued durably")},
                        400,
                        401,
                        403,
                        413,
                        415,
                        503,
                    ),
                }
            },
            "/api/v1/approvals": {
                "get": {
                    "summary": "List proposals, newest first. Roles: viewer, approver.",
                    "security": [{"bearer": []}],
                    "parameters": [{"name": "status", "in": "query", "schema": {"enum": states}}, LIMIT],
                    "responses": _responses(
                        {
                            "200": _json(
                                {
                                    "type": "object",
                                    "properties": {"items": {"type": "array", "items": PROPOSAL}},
                                }
                            )
                        },
                        400,
                        401,
                        403,
                    ),
                }
            },
            "/api/v1/approvals/{id}": {
                "get": {
                    "summary": "One proposal.",
                    "security": [{"bearer": []}],
                    "parameters": [ID],
                    "responses": _responses({"200": _json(PROPOSAL)}, 401, 403, 404),
                }
            },
            "/api/v1/approvals/{id}/approve": {
                "post": {
                    "summary": "Approve a pending proposal; its execution is queued. Role: approver.",
                    "security": [{"bearer": []}],
                    "parameters": [ID],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"comment": {"type": "string", "maxLength": 2000}},
                                }
                            }
                        }
                    },
                    "responses": _responses({"200": _json(PROPOSAL)}, 400, 401, 403, 404, 409),
                }
            },
            "/api/v1/approvals/{id}/reject": {
                "post": {
                    "summary": "Reject a pending proposal. Role: approver.",
                    "security": [{"bearer": []}],
                    "parameters": [ID],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["reason"],
                                    "properties": {
                                        "reason": {"type": "string", "minLength": 1, "maxLength": 2000}
                                    },
                                }
                            }
                        },
                    },
                    "responses": _responses({"200": _json(PROPOSAL)}, 400, 401, 403, 404, 409),
                }
            },
            "/api/v1/records": {
                "get": {
                    "summary": "List audit records, newest first (by creation). Roles: viewer, approver.",
                    "description": "A record's status is how far its investigation got (see docs/api.md).",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"enum": record_states}},
                        {"name": "rule", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "since",
                            "in": "query",
                            "description": "created since: a duration back from now (90m, 12h, 7d) or an "
                            "ISO 8601 time",
                            "schema": {"type": "string"},
                        },
                        LIMIT,
                    ],
                    "responses": _responses(
                        {
                            "200": _json(
                                {
                                    "type": "object",
                                    "properties": {
                                        "items": {
                                            "type": "array",
                                            "items": {"$ref": "#/components/schemas/RecordSummary"},
                                        }
                                    },
                                }
                            )
                        },
                        400,
                        401,
                        403,
                    ),
                }
            },
            "/api/v1/records/{id}": {
                "get": {
                    "summary": "An audit record; ?format=md for a readable operations log.",
                    "security": [{"bearer": []}],
                    "parameters": [ID, {"name": "format", "in": "query", "schema": {"enum": ["json", "md"]}}],
                    "responses": _responses(
                        {
                            "200": {
                                "description": "the record",
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Record"}},
                                    "text/markdown": {"schema": {"type": "string"}},
                                },
                            }
                        },
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/v1/rightsizing": {
                "post": {
                    "summary": "Right-size a namespace, or one workload, from its usage history "
                    "(approver): a job parks one patch-resources proposal per workload whose "
                    "recommendation is ok.",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["namespace"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "namespace": {"type": "string", "maxLength": 63},
                                        "workload": {
                                            "type": "string",
                                            "pattern": "^(Deployment|StatefulSet|DaemonSet)/.+$",
                                            "description": "KIND/NAME; default: every workload of "
                                            "the namespace",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": _responses(
                        {
                            "202": _json(
                                {
                                    "type": "object",
                                    "required": ["namespace", "enqueued", "parked", "proposals"],
                                    "properties": {
                                        "namespace": {"type": "string"},
                                        "workload": {"type": ["string", "null"]},
                                        "requested_by": {"type": "string"},
                                        "enqueued": {
                                            "type": "object",
                                            "properties": {
                                                "job_id": {"type": "string"},
                                                "queue": {"type": "string"},
                                            },
                                        },
                                        "parked": {"type": "array", "items": {"type": "object"}},
                                        "proposals": {
                                            "type": "string",
                                            "description": "where the parked proposals are listed",
                                        },
                                    },
                                },
                                "analysis enqueued",
                            )
                        },
                        400,
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/v1/reports": {
                "get": {
                    "summary": "Stored reports (weekly health report, security audit), newest first.",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"enum": ["health", "security"]}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
                        },
                    ],
                    "responses": _responses(
                        {
                            "200": _json(
                                {
                                    "type": "object",
                                    "required": ["items"],
                                    "properties": {
                                        "items": {"type": "array", "items": REPORT_SUMMARY},
                                    },
                                }
                            )
                        },
                        400,
                        401,
                        403,
                    ),
                }
            },
            "/api/v1/reports/{id}": {
                "get": {
                    "summary": "One stored report: JSON (the Report model), markdown, or one self-contained "
                    "HTML page (viewer).",
                    "security": [{"bearer": []}],
                    "parameters": [
                        ID,
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"enum": ["json", "md", "html"], "default": "json"},
                        },
                    ],
                    "responses": _responses(
                        {
                            "200": {
                                "description": "the report",
                                "content": {
                                    "application/json": {"schema": {"type": "object"}},
                                    "text/markdown": {"schema": {"type": "string"}},
                                    "text/html": {"schema": {"type": "string"}},
                                },
                            }
                        },
                        400,
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/v1/rollouts": {
                "post": {
                    "summary": "Start a rollout gate for a Deployment's rollout in progress (or its next "
                    "one): its new ReplicaSet's error rate is analysed against the old one's; failing pauses "
                    "it and parks rollout-undo and rollout-resume (approver).",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["namespace", "deployment"],
                                    "properties": {
                                        "namespace": {"type": "string"},
                                        "deployment": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": _responses(
                        {"202": _json(GATE, "the gate, started")}, 400, 401, 403, 404, 409
                    ),
                },
                "get": {
                    "summary": "Rollout gates, newest first, with their analysis rounds (viewer).",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {"name": "namespace", "in": "query", "schema": {"type": "string"}},
                        {"name": "deployment", "in": "query", "schema": {"type": "string"}},
                        {"name": "state", "in": "query", "schema": {"enum": GATE_STATES}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                        },
                    ],
                    "responses": _responses(
                        {
                            "200": _json(
                                {
                                    "type": "object",
                                    "required": ["items"],
                                    "properties": {"items": {"type": "array", "items": GATE}},
                                }
                            )
                        },
                        400,
                        401,
                    ),
                },
            },
            "/api/v1/rollouts/{id}": {
                "get": {
                    "summary": "One rollout gate with its analysis rounds and decision (viewer).",
                    "security": [{"bearer": []}],
                    "parameters": [ID],
                    "responses": _responses({"200": _json(GATE)}, 401, 404),
                }
            },
            "/integrations/slack/actions": {
                "post": {
                    "summary": "Slack's interactivity requests (the Approve / Reject buttons of a proposal's "
                    "message). Signed by Slack: X-Slack-Signature is v0=HMAC-SHA256(signing secret, "
                    "'v0:{X-Slack-Request-Timestamp}:{body}'), the timestamp within 5 minutes. The Slack "
                    "user must be in notify.slack_users; the decision goes through the same path as "
                    "/api/v1/approvals/{id}/approve|reject and is made before the answer (within 3 s); "
                    "the message is then replaced through the payload's response_url. The answer's "
                    "X-Aiops-Outcome header says approved, rejected, refused (not mapped, not pending, "
                    "expired, no reason to reject) or ignored.",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "required": ["payload"],
                                    "properties": {
                                        "payload": {
                                            "type": "string",
                                            "description": "Slack's block_actions payload as JSON",
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "parameters": [
                        {
                            "name": "X-Slack-Signature",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^v0=[0-9a-f]{64}$"},
                        },
                        {
                            "name": "X-Slack-Request-Timestamp",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]+$"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "acknowledged; X-Aiops-Outcome tells what came of it",
                            "headers": {
                                "X-Aiops-Outcome": {
                                    "schema": {"enum": ["approved", "rejected", "refused", "ignored"]}
                                }
                            },
                        },
                        "400": {
                            "description": "signed, but not Slack's form-encoded payload",
                            "content": {"application/json": {"schema": ERROR}},
                        },
                        "401": {
                            "description": "bad or stale signature",
                            "content": {"application/json": {"schema": ERROR}},
                        },
                        "404": {
                            "description": "Slack interactivity not configured (notify.slack_signing_secret)",
                            "content": {"application/json": {"schema": ERROR}},
                        },
                    },
                }
            },
            "/healthz": {"get": {"summary": "Liveness.", "responses": {"200": _json({"type": "object"})}}},
            "/readyz": {
                "get": {
                    "summary": "Readiness: Redis reachable. In detail (never affecting readiness): the rule "
                    "set, whether notification links are absolute (notify.public_url), and the last "
                    "notification Alertmanager truncated (max_alerts).",
                    "responses": {
                        "200": _json({"type": "object"}),
                        "503": _json({"type": "object"}, "not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics.",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document.", "responses": {"200": _json({"type": "object"})}}
            },
        },
    }
