"""Week over week: new, fixed and still-open findings, new criticals to escalate, permission drift.

Findings are "the same" when their ``Finding.key()`` (check and object) is. Permission drift
compares each subject's effective permissions, which the RBAC section's summary carries, so the
previous stored report is all that is needed.
"""

from __future__ import annotations

from typing import Any

from workers.domain import Finding, Report, Severity

RBAC_SECTION = "rbac"


def permissions_of(report: Report) -> dict[str, list[str]]:
    for section in report.sections:
        if section.id == RBAC_SECTION:
            return dict(section.summary.get("permissions") or {})
    return {}


def permission_drift(
    before: dict[str, list[str]], after: dict[str, list[str]]
) -> dict[str, dict[str, list[str]]]:
    """Per subject, the permissions gained and lost."""
    gained: dict[str, list[str]] = {}
    lost: dict[str, list[str]] = {}
    for subject in sorted(set(before) | set(after)):
        old, new = set(before.get(subject, [])), set(after.get(subject, []))
        if new - old:
            gained[subject] = sorted(new - old)
        if old - new:
            lost[subject] = sorted(old - new)
    return {"gained": gained, "lost": lost}


def escalation_text(found: Finding) -> str:
    """What a notification of a new critical finding says."""
    return f"NEW CRITICAL security finding {found.check}: {found.message}. Fix now: {found.remediation}"


def _brief(found: Finding) -> dict[str, Any]:
    return {
        "key": found.key(),
        "check": found.check,
        "severity": found.severity.value,
        "message": found.message,
    }


def changes(
    findings: list[Finding],
    permissions: dict[str, list[str]],
    previous: Report | None,
    score: float | None = None,
) -> dict[str, Any]:
    """``Report.changes`` of an audit against the previous one (None: the first audit is the baseline).

    The keys the report renderers know (``new_findings``, ``resolved_findings``, ``still_open``, ``score``)
    plus the audit's own: ``new_critical`` (to notify at once, with escalation text) and ``permissions``.
    """
    current = {found.key(): found for found in findings}
    before = {found.key(): found for found in previous.findings()} if previous is not None else {}
    new = [current[key] for key in current if key not in before]
    new_critical = [found for found in new if found.severity is Severity.critical]
    escalate = [
        {**found.model_dump(mode="json", exclude={"evidence"}), "escalation": escalation_text(found)}
        for found in new_critical
    ]
    if previous is None:
        return {
            "previous_id": None,
            "note": "no earlier security audit is stored: every critical finding counts as new",
            "new_critical": escalate,
            "permissions": {"gained": {}, "lost": {}},
        }
    return {
        "previous_id": previous.id,
        "score": {
            "before": previous.score,
            "after": score,
            "delta": round((score or 0) - (previous.score or 0), 1),
        },
        "new_findings": [_brief(found) for found in new],
        "resolved_findings": [_brief(found) for key, found in before.items() if key not in current],
        "still_open": sum(1 for key in current if key in before),
        "new_critical": escalate,
        "permissions": permission_drift(permissions_of(previous), permissions),
    }
