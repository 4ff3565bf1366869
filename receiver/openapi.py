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
                    "properties": {
                        key: {"type": "integer"}
                        for key in ("received", "enqueued", "duplicates", "unmatched")
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
