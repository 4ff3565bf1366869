"""The ``security`` report workflow (``ReportWorkflow``) that ``aiops report security`` and cron call.

Options (``ReportInputs.options``): ``exceptions_file`` (else ``security.exceptions_file``), ``trivy_file``
(a trivy JSON report to merge) and ``page_size`` for the paged lists. ``render`` adds the ``sarif`` format
to the shared json/md/html renderers.
"""

from __future__ import annotations

import json
from pathlib import Path

from workers.domain import Report
from workers.spine.workflow import ReportInputs
from workers.workflows.security_audit import audit, exceptions, sarif


class SecurityAudit:
    """The weekly security audit."""

    name = "security-audit"
    kind = audit.KIND
    period_days = 7

    def build(self, inputs: ReportInputs, previous: Report | None) -> Report:
        options = inputs.options
        raw_exceptions = options.get("exceptions_file") or inputs.settings.security.exceptions_file
        accepted = exceptions.load(Path(raw_exceptions)) if raw_exceptions else []
        trivy_file = options.get("trivy_file")
        trivy = audit.parse_trivy(Path(trivy_file).read_text(encoding="utf-8")) if trivy_file else []
        objects, forbidden = audit.read_objects(inputs.kube, int(options.get("page_size") or 500))
        return audit.build_audit(
            objects, inputs.settings, accepted, previous, now=inputs.now, trivy=trivy, unavailable=forbidden
        )

    def render(self, report: Report, fmt: str) -> str:
        """Formats beyond the shared json/md/html: ``sarif``."""
        if fmt != "sarif":
            raise ValueError(f"the security audit renders sarif, not {fmt!r}")
        return json.dumps(sarif.to_sarif(report), indent=2) + "\n"
