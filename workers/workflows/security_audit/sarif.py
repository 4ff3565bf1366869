"""SARIF 2.1.0 output of a security audit, for code-scanning dashboards.

Each check is a rule (with its base score as ``security-severity``), each finding a result located
by a logical location ``namespace/kind/name``; excepted findings are results with an external
suppression carrying the reason.
"""

from __future__ import annotations

from typing import Any

from workers.domain import Finding, Report, Severity
from workers.workflows.security_audit import severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {
    Severity.critical: "error",
    Severity.high: "error",
    Severity.medium: "warning",
    Severity.low: "note",
    Severity.info: "note",
}
TOOL = "aiops-responder security audit"


def _rule(check: severity.Check) -> dict[str, Any]:
    return {
        "id": check.id,
        "name": check.id.replace(".", "_"),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale},
        "help": {"text": check.remediation},
        "defaultConfiguration": {"level": LEVELS[check.severity]},
        "properties": {"security-severity": f"{check.base_score:.1f}", "tags": ["security", check.family]},
    }


def _result(found: Finding, index: dict[str, int], suppression: str | None) -> dict[str, Any]:
    parts = [found.namespace or "_cluster", found.kind or "", found.name or ""]
    result: dict[str, Any] = {
        "ruleId": found.check,
        "level": LEVELS[found.severity],
        "message": {"text": found.message},
        "locations": [
            {
                "logicalLocations": [
                    {"name": found.name or "", "fullyQualifiedName": "/".join(parts), "kind": "object"}
                ]
            }
        ],
        "partialFingerprints": {"findingKey/v1": found.key()},
        "properties": {
            "severity": found.severity.value,
            "score": found.score,
            "remediation": found.remediation,
        },
    }
    if found.check in index:
        result["ruleIndex"] = index[found.check]
    if suppression is not None:
        result["suppressions"] = [{"kind": "external", "justification": suppression}]
    return result


def to_sarif(report: Report, version: str = "0") -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``report``, its excepted findings as suppressed results."""
    checks = list(severity.CHECKS.values())
    index = {check.id: position for position, check in enumerate(checks)}
    results = [_result(found, index, None) for found in report.findings()]
    for found in report.excepted:
        reason = str((found.evidence.get("exception") or {}).get("reason", "excepted"))
        results.append(_result(found, index, reason))
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL,
                        "version": version,
                        "informationUri": "https://github.com/aiops-responder/aiops-responder",
                        "rules": [_rule(check) for check in checks],
                    }
                },
                "results": results,
                "properties": {"reportId": report.id, "generatedAt": report.generated_at},
            }
        ],
    }
