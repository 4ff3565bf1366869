"""The built-in adviser: the playbook's own deterministic diagnosis, reported like any other opinion.

It always comes first in a consultation and never fails or leaves the process, so a record always
holds at least one opinion even when every AI tool is off or unreachable.
"""

from __future__ import annotations

from typing import Any

from workers.integrations.advisers.base import AdviceRequest, AdviceResult, AdviceStatus

NAME = "builtin"


def render_diagnosis(diagnosis: dict[str, Any]) -> str:
    """The diagnosis as text: category, summary, root cause, confidence and citations."""
    lines = []
    for key in ("category", "summary", "root_cause", "confidence", "container"):
        if diagnosis.get(key) not in (None, ""):
            lines.append(f"{key.replace('_', ' ')}: {diagnosis[key]}")
    for citation in diagnosis.get("citations") or []:
        if isinstance(citation, dict):
            lines.append(f"- [{citation.get('source', '?')}] {citation.get('text', '')}")
    return "\n".join(lines)


class BuiltinAdviser:
    """Report the built-in playbook's diagnosis as an adviser result."""

    name = NAME
    timeout_s = 1.0
    unavailable_reason = ""

    def probe(self) -> bool:
        return True

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        diagnosis = request.diagnosis or {}
        if not diagnosis.get("summary"):
            return AdviceResult(
                adviser=NAME,
                status=AdviceStatus.no_findings,
                detail="the built-in playbook reached no diagnosis",
            )
        category = diagnosis.get("category")
        summary = f"{category}: {diagnosis['summary']}" if category else str(diagnosis["summary"])
        confidence = diagnosis.get("confidence")
        if isinstance(confidence, int | float):
            summary += f" (confidence {confidence:.0%})"
        findings = [f"root cause: {diagnosis['root_cause']}"] if diagnosis.get("root_cause") else []
        findings += [
            f"[{citation.get('source', '?')}] {citation.get('text', '')}"
            for citation in diagnosis.get("citations") or []
            if isinstance(citation, dict)
        ]
        return AdviceResult(
            adviser=NAME,
            status=AdviceStatus.ok,
            summary=summary,
            findings=findings,
            raw=render_diagnosis(diagnosis),
            detail="deterministic diagnosis of the built-in playbook; nothing was sent anywhere",
        )
