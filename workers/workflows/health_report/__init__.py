"""US5, the weekly cluster health report: pods, nodes, workloads, capacity and a week of service health,
with findings ranked by severity, scores, and what changed since the previous report (docs/reports.md).

Read-only: paged lists from the Kubernetes API and instant queries to Prometheus. The spine stores,
serves and notifies (``workers.spine.reports``).
"""

from __future__ import annotations

from workers.workflows.health_report.report import HealthReport

WORKFLOW = HealthReport()

__all__ = ["WORKFLOW", "HealthReport"]
