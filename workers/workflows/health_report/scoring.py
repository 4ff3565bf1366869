"""Scores: per section, and for the whole report (docs/reports.md, "Scoring").

A section checks a number of objects (pods, nodes, workloads, services). Each object with findings costs
the weight of its worst one: critical 1.0, high 0.6, medium 0.3, low 0.1, info 0. The section's score is
``100 * (1 - cost / checked)``, floored at 0 (100 when nothing was checked). The report's score is the
mean of the scores of the sections that could be produced, less 5 points per critical finding (at most
25): one outage weighs more than many small things. Grades: A >= 90, B >= 80, C >= 70, D >= 60, else F.
"""

from __future__ import annotations

from collections.abc import Iterable

from workers.domain import Finding, Section, Severity

WEIGHTS = {
    Severity.critical: 1.0,
    Severity.high: 0.6,
    Severity.medium: 0.3,
    Severity.low: 0.1,
    Severity.info: 0.0,
}
CRITICAL_PENALTY, CRITICAL_PENALTY_MAX = 5.0, 25.0
GRADES = ((90.0, "A"), (80.0, "B"), (70.0, "C"), (60.0, "D"))


def section_score(checked: int, findings: Iterable[Finding]) -> float:
    worst: dict[str, float] = {}
    for finding in findings:
        key = f"{finding.kind}/{finding.namespace}/{finding.name}"
        worst[key] = max(worst.get(key, 0.0), WEIGHTS[finding.severity])
    if checked <= 0:
        return 100.0
    cost = min(sum(worst.values()), float(checked))
    return round(100.0 * (1.0 - cost / checked), 1)


def overall(sections: Iterable[Section]) -> tuple[float | None, str | None]:
    produced = [section for section in sections if section.score is not None]
    if not produced:
        return None, None
    mean = sum(section.score or 0.0 for section in produced) / len(produced)
    criticals = sum(1 for s in produced for f in s.findings if f.severity == Severity.critical)
    score = round(max(0.0, mean - min(CRITICAL_PENALTY_MAX, CRITICAL_PENALTY * criticals)), 1)
    return score, grade(score)


def grade(score: float) -> str:
    for floor, letter in GRADES:
        if score >= floor:
            return letter
    return "F"
