"""Errors of the security audit, under the workers' root errors."""

from __future__ import annotations

from workers.errors import PermanentError


class SecurityAuditError(PermanentError):
    """Root of the audit's errors: bad input that retrying cannot fix."""

    code = "security_audit"


class ExceptionsFileError(SecurityAuditError):
    """The exceptions file has malformed entries; ``problems`` holds one ``file:line: message`` each."""

    code = "invalid_exceptions"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class TrivyReportError(SecurityAuditError):
    """The trivy report given is not trivy's JSON output."""

    code = "invalid_trivy_report"
