"""Week over week: against the previous stored health report, the new and resolved findings and the
figures that moved (score, error ratio and latency per service, cluster capacity)."""

from __future__ import annotations

from typing import Any

from workers.domain import Report

SERVICE_FIGURES = ("error_ratio", "p50", "p95", "p99")
CAPACITY_FIGURES = (
    "cpu_requests_pct",
    "memory_requests_pct",
    "cpu_limits_pct",
    "memory_limits_pct",
)


def _section(report: Report, section_id: str) -> dict[str, Any]:
    for section in report.sections:
        if section.id == section_id:
            return section.summary
    return {}


def _moved(before: Any, after: Any) -> dict[str, Any] | None:
    if before == after:
        return None
    delta = (
        round(after - before, 5)
        if isinstance(before, int | float) and isinstance(after, int | float)
        else None
    )
    return {"before": before, "after": after, "delta": delta}


def compare(report: Report, previous: Report | None) -> dict[str, Any]:
    if previous is None:
        return {
            "previous_id": None,
            "note": "no earlier health report is stored: nothing to compare with",
        }
    now = {f.key(): f for f in report.findings()}
    then = {f.key(): f for f in previous.findings()}
    new = [_brief(now[key]) for key in now if key not in then]
    resolved = [_brief(then[key]) for key in then if key not in now]
    services: dict[str, Any] = {}
    after_services = _section(report, "services").get("services") or {}
    before_services = _section(previous, "services").get("services") or {}
    for name in sorted(set(after_services) | set(before_services)):
        moved = {}
        for figure in SERVICE_FIGURES:
            change = _moved(
                (before_services.get(name) or {}).get(figure),
                (after_services.get(name) or {}).get(figure),
            )
            if change:
                moved[figure] = change
        if moved:
            services[name] = moved
    capacity = {}
    after_cap = _section(report, "capacity").get("cluster") or {}
    before_cap = _section(previous, "capacity").get("cluster") or {}
    for figure in CAPACITY_FIGURES:
        change = _moved(before_cap.get(figure), after_cap.get(figure))
        if change:
            capacity[figure] = change
    return {
        "previous_id": previous.id,
        "score": _moved(previous.score, report.score)
        or {"before": previous.score, "after": report.score, "delta": 0},
        "new_findings": new,
        "resolved_findings": resolved,
        "still_open": sum(1 for key in now if key in then),
        "services": services,
        "capacity": capacity,
    }


def _brief(finding: Any) -> dict[str, Any]:
    return {
        "key": finding.key(),
        "check": finding.check,
        "severity": finding.severity.value,
        "message": finding.message,
    }
