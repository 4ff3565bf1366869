"""The remediation runbook documents every check with the base score and severity the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from workers.workflows.security_audit.severity import CHECKS

RUNBOOK = Path(__file__).resolve().parents[5] / "docs" / "runbooks" / "security-remediation.md"


def test_the_severity_table_matches_the_checks() -> None:
    text = RUNBOOK.read_text()
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \|.*\| ([0-9.]+) \| [a-z]+ \|$", text, re.MULTILINE))
    assert rows == {check.id: f"{check.base_score:.1f}" for check in CHECKS.values()}
    for check in CHECKS.values():
        assert f"| {check.base_score:.1f} | {check.severity.value} |" in text
        assert re.search(rf"^### .*{re.escape(check.id)}", text, re.MULTILINE), check.id
