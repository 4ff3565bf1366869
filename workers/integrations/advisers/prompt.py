"""Turn the alert, evidence and built-in diagnosis into the question an adviser is asked.

The question is short; the evidence follows it as plain text, most telling first (diagnosis,
container states, metrics, events) and the bulkiest last (previous logs), so that the size cap of
``advisers.max_prompt_bytes`` cuts logs before anything else. Everything is redacted before it is
rendered and again after, so that nothing secret-looking leaves the process.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from workers.integrations.advisers.base import AdviceRequest
from workers.integrations.advisers.redaction import redact, redact_value

MAX_EVENTS = 20
INSTRUCTIONS = (
    "You are consulted as a read-only adviser. Do not change anything in the cluster. "
    "Confirm or correct the root cause, and list next steps. Write each command you suggest as a "
    "kubectl or helm command line on its own line, and say whether it changes the cluster."
)


def as_dict(value: Any) -> dict[str, Any]:
    """A plain dict from a mapping, dataclass or pydantic model (``{}`` for anything else)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    for method in ("model_dump", "to_dict"):
        if callable(getattr(value, method, None)):
            return dict(getattr(value, method)())
    return {}


def _target_name(target: Mapping[str, Any]) -> str:
    kind = target.get("kind") or "object"
    namespace = target.get("namespace")
    name = target.get("name") or "?"
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def build_question(alert: Mapping[str, Any], target: Mapping[str, Any], diagnosis: Mapping[str, Any]) -> str:
    """The one-paragraph question: what fired, for what, and what the built-in playbook concluded."""
    labels = alert.get("labels") or {}
    alertname = labels.get("alertname", "an alert")
    status = alert.get("status", "firing")
    parts = [f"Alert {alertname} is {status} for {_target_name(target)}."]
    if diagnosis.get("summary"):
        category = diagnosis.get("category")
        prefix = f"{category}: " if category else ""
        summary = str(diagnosis["summary"]).rstrip()
        end = "" if summary.endswith((".", "!", "?")) else "."
        parts.append(f"aiops-responder's built-in diagnosis is {prefix}{summary}{end}")
    parts.append(INSTRUCTIONS)
    return " ".join(parts)


def _kv(mapping: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(mapping.items()))


def _alert_section(alert: Mapping[str, Any]) -> list[str]:
    lines = ["## Alert", f"status: {alert.get('status', '?')}", f"labels: {_kv(alert.get('labels') or {})}"]
    for key, value in sorted((alert.get("annotations") or {}).items()):
        lines.append(f"annotation {key}: {value}")
    if alert.get("startsAt"):
        lines.append(f"startsAt: {alert['startsAt']}")
    return lines


def _diagnosis_section(diagnosis: Mapping[str, Any]) -> list[str]:
    if not diagnosis:
        return []
    lines = ["## Built-in diagnosis"]
    for key in ("category", "summary", "root_cause", "confidence", "container"):
        if diagnosis.get(key) not in (None, ""):
            lines.append(f"{key.replace('_', ' ')}: {diagnosis[key]}")
    for citation in diagnosis.get("citations") or []:
        if isinstance(citation, Mapping):
            lines.append(f"- [{citation.get('source', '?')}] {citation.get('text', '')}")
    return lines


def _container_line(container: Mapping[str, Any]) -> str:
    init = " (init)" if container.get("init") else ""
    line = (
        f"- {container.get('name')}{init}: image {container.get('image')}, "
        f"ready={container.get('ready')}, restarts={container.get('restartCount')}"
    )
    waiting = container.get("waiting")
    if waiting:
        line += f"; waiting {waiting.get('reason')}: {waiting.get('message') or ''}".rstrip(": ")
    last = container.get("lastTerminated")
    if last:
        line += (
            f"; last terminated {last.get('reason')} exit {last.get('exitCode')} at {last.get('finishedAt')}"
        )
    resources = container.get("resources") or {}
    for kind in ("requests", "limits"):
        if resources.get(kind):
            line += f"; {kind} {_kv(resources[kind])}"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe):
            line += f"; {probe} {json.dumps(container[probe], sort_keys=True, default=str)}"
    return line


def _state_sections(evidence: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    if evidence.get("containers"):
        lines += ["", "## Containers", *(_container_line(c) for c in evidence["containers"])]
    metrics = {key: value for key, value in (evidence.get("metrics") or {}).items() if value is not None}
    if metrics:
        lines += ["", "## Metrics (Prometheus)"]
        lines += [f"{key}: {value}" for key, value in sorted(metrics.items())]
    owner = evidence.get("owner")
    if owner:
        lines += [
            "",
            "## Owner",
            f"deployment {owner.get('deployment')}, replicaset {owner.get('replicaset')}, "
            f"revision {owner.get('revision')} rolled out at {owner.get('rolled_out_at')}",
        ]
        for revision in owner.get("revisions") or []:
            lines.append(
                f"- revision {revision.get('revision')}: images {', '.join(revision.get('images') or [])}"
                f" created {revision.get('created')}"
            )
    node = evidence.get("node")
    if node:
        lines += ["", "## Node", f"{node.get('name')} ready={node.get('ready')}"]
    return lines


def _event_and_log_sections(evidence: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    events = list(evidence.get("events") or [])[-MAX_EVENTS:]
    if events:
        lines += ["", "## Events (oldest first)"]
        for event in events:
            lines.append(
                f"- {event.get('type')} {event.get('reason')} x{event.get('count', 1)} "
                f"{event.get('object', '')}: {event.get('message', '')}"
            )
    if evidence.get("errors"):
        lines += ["", "## Evidence that could not be gathered"]
        lines += [f"- {error}" for error in evidence["errors"]]
    for container, log in sorted((evidence.get("previous_logs") or {}).items()):
        if log:
            lines += ["", f"## Previous log of container {container}", str(log).rstrip()]
    return lines


def render_context(
    alert: Mapping[str, Any],
    target: Mapping[str, Any],
    evidence: Mapping[str, Any],
    diagnosis: Mapping[str, Any],
) -> str:
    """The evidence as plain text, most telling first and bulkiest (logs) last."""
    lines = _alert_section(alert)
    lines += ["", "## Target", _target_name(target)]
    diagnosis_lines = _diagnosis_section(diagnosis)
    if diagnosis_lines:
        lines += ["", *diagnosis_lines]
    lines += _state_sections(evidence)
    lines += _event_and_log_sections(evidence)
    return "\n".join(lines)


def cap_text(text: str, max_bytes: int, note_format: str, limit: int | None = None) -> str:
    """``text`` cut at a line boundary to fit ``max_bytes`` (UTF-8), ending with a truncation note.

    ``note_format`` receives ``omitted`` (bytes left out) and ``limit`` (``max_bytes`` unless given).
    """
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    limit = max_bytes if limit is None else limit
    note = "\n" + note_format.format(omitted=len(data), limit=limit)
    room = max(0, max_bytes - len(note.encode("utf-8")))
    head = data[:room].decode("utf-8", errors="ignore")
    if "\n" in head:
        head = head[: head.rfind("\n")]
    omitted = len(data) - len(head.encode("utf-8"))
    note = "\n" + note_format.format(omitted=omitted, limit=limit)
    capped = head + note
    return capped.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


TRUNCATION_NOTE = (
    "[truncated: {omitted} more bytes of evidence were not sent (advisers.max_prompt_bytes = {limit})]"
)


def build_request(
    alert: Any, target: Any, evidence: Any, diagnosis: Any, max_prompt_bytes: int
) -> AdviceRequest:
    """The redacted, size-capped request every adviser of one investigation receives."""
    alert_d = redact_value(as_dict(alert))
    target_d = redact_value(as_dict(target))
    evidence_d = redact_value(as_dict(evidence))
    diagnosis_d = redact_value(as_dict(diagnosis))
    question = redact(build_question(alert_d, target_d, diagnosis_d))
    question = cap_text(question, max(64, max_prompt_bytes // 2), "[question truncated]")
    context = redact(render_context(alert_d, target_d, evidence_d, diagnosis_d))
    room = max_prompt_bytes - len(question.encode("utf-8")) - 2  # the blank line between the two
    context = cap_text(context, room, TRUNCATION_NOTE, limit=max_prompt_bytes) if room > 0 else ""
    return AdviceRequest(
        alert=alert_d,
        target=target_d,
        evidence=evidence_d,
        diagnosis=diagnosis_d,
        question=question,
        context=context,
    )
