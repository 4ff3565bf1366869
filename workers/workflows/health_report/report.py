"""The health report workflow: read the cluster and Prometheus, build the sections, score, compare."""

from __future__ import annotations

from datetime import timedelta

from workers.domain import Report, Section, Severity
from workers.errors import TemporaryError
from workers.spine import compliance
from workers.spine.workflow import ReportInputs
from workers.workflows.health_report import inventory, scoring
from workers.workflows.health_report.capacity import capacity_section
from workers.workflows.health_report.changes import compare
from workers.workflows.health_report.nodes import nodes_section
from workers.workflows.health_report.pods import pods_section
from workers.workflows.health_report.services import services_section, week_restarts
from workers.workflows.health_report.workloads import workloads_section

MAX_RECOMMENDATIONS = 10


class HealthReport:
    """The ``health`` report (``ReportWorkflow``)."""

    name = "health-report"
    kind = "health"
    period_days = 7

    def build(self, inputs: ReportInputs, previous: Report | None) -> Report:
        now = inputs.now
        window = f"{self.period_days}d"
        settings = inputs.settings.reports
        cluster = inventory.read(inputs.kube, inputs.options.get("page_size"))
        if cluster.unreachable == set(inventory.READERS):
            # Nothing at all could be read: a report of nothing is no report; the run is retried.
            raise TemporaryError(f"the Kubernetes API could not be read: {cluster.missing['pods']}")
        sections: list[Section] = [
            pods_section(cluster, now, settings.pending_after_s, week_restarts(inputs.prometheus, window)),
            nodes_section(cluster, now),
            workloads_section(cluster),
            capacity_section(cluster),
            services_section(inputs.prometheus, settings, window, inputs.settings.prometheus.url),
        ]
        for section in sections:
            section.findings.sort(key=lambda f: (f.severity.rank, -f.score))
        score, grade = scoring.overall(sections)
        sections.append(compliance_section(inputs, self.period_days))  # after scoring: it has no score
        report = Report(
            id=f"health-{now.strftime('%Y%m%dT%H%M%SZ')}",
            kind=self.kind,
            period_start=(now - timedelta(days=self.period_days)).isoformat(),
            period_end=now.isoformat(),
            generated_at=now.isoformat(),
            score=score,
            grade=grade,
            sections=sections,
            recommendations=recommendations(sections),
            notes=[_note(s) for s in sections if s.unavailable],
        )
        report.changes = compare(report, previous)
        return report


def compliance_section(inputs: ReportInputs, days: int) -> Section:
    """The week's PHR compliance (``workers.spine.compliance``), from the audit records when the run has
    them (the scheduled run does; ``aiops report`` reads no Redis)."""
    if inputs.records is None:
        return Section(
            id="compliance",
            title="Approval compliance (PHR)",
            unavailable="the audit records are read by the scheduled report only; run "
            "`aiops audit compliance` for this check",
        )
    since = inputs.now - timedelta(days=days)
    return compliance.report_section(compliance.check(inputs.records, inputs.proposals, since, inputs.now))


def recommendations(sections: list[Section]) -> list[str]:
    """One line per check with critical or high findings, worst first: what to do and how many it covers."""
    seen: dict[str, list[int]] = {}
    lines: dict[str, str] = {}
    for section in sections:
        for finding in section.findings:
            if finding.severity not in (Severity.critical, Severity.high):
                continue
            if finding.check not in seen:
                seen[finding.check] = [finding.severity.rank, 0]
                lines[finding.check] = f"{finding.title}: {finding.remediation}"
            seen[finding.check][1] += 1
    ranked = sorted(seen, key=lambda check: (seen[check][0], -seen[check][1]))
    return [f"{lines[c]} ({seen[c][1]} affected)" for c in ranked[:MAX_RECOMMENDATIONS]]


def _note(section: Section) -> str:
    """A report note for a section that could not be (fully) produced."""
    reason = section.unavailable or ""
    return (
        reason[0].upper() + reason[1:]
        if reason.lower().startswith(section.title.lower())
        else (f"{section.title}: {reason}")
    )
