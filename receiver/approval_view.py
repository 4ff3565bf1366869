"""What the approval detail page shows, gathered from the proposal, its audit record and the cluster.

The page reads top to bottom as a decision: the diagnosis and what it rests on (citations grouped by
where they came from, container states, evidence figures as charts), then the exact change as a YAML
diff, then risk, expected outcome and validation in plain words, the advisers' opinions, and the record's
timeline. Nothing here decides or writes: decisions go through ``workers.spine.lifecycle``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from receiver import charts
from receiver.object_diff import Change, change_of
from workers.clock import parse_iso
from workers.domain import Proposal, ProposalStatus
from workers.errors import NotFound
from workers.spine.context import Context
from workers.spine.plans import Plan, read_object

log = logging.getLogger(__name__)

RISK_WORDS = {
    "low": "Low risk: the change is small and easily undone.",
    "medium": (
        "Medium risk: the workload's pods are replaced; a mistake shows within minutes and can be reverted."
    ),
    "high": "High risk: the change can interrupt service; check the diff and the runbook first.",
}
CITATION_GROUPS = (
    ("logs", "Log lines"),
    ("event", "Events"),
    ("status", "Container state"),
    ("metric", "Metrics"),
    ("prometheus", "Metrics"),
    ("spec", "Object spec"),
    ("revision", "Rollout history"),
    ("replicaset", "Rollout history"),
)


def ago(moment: str | None, now: datetime) -> str:
    """``5 min ago`` / ``in 40 min`` for an ISO time, in the largest whole unit."""
    if not moment:
        return ""
    seconds = int((now - parse_iso(moment)).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{seconds // size} {unit}"
            break
    else:
        text = f"{seconds} s"
    return f"in {text}" if future else f"{text} ago"


def expired(proposal: Proposal, now: datetime) -> bool:
    """Pending past its expiry (cron may not have moved it yet), or moved to expired."""
    if proposal.status == ProposalStatus.expired:
        return True
    return proposal.status == ProposalStatus.pending and parse_iso(proposal.expires_at) <= now


def citation_group(source: str) -> str:
    lowered = source.lower()
    for needle, label in CITATION_GROUPS:
        if needle in lowered:
            return label
    return "Other"


def grouped_citations(diagnosis: dict[str, Any]) -> list[tuple[str, list[dict[str, str]]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for citation in diagnosis.get("citations") or []:
        if isinstance(citation, dict):
            source = str(citation.get("source", ""))
            groups.setdefault(citation_group(source), []).append(
                {"source": source, "text": str(citation.get("text", ""))}
            )
    return list(groups.items())


def _entries(record: dict[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    return [
        entry.get("data") or {} for entry in (record or {}).get("entries", []) if entry.get("kind") == kind
    ]


def evidence_figures(record: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The evidence queries' values by name (the latest of each), and their PromQL."""
    values: dict[str, Any] = {}
    queries: dict[str, str] = {}
    for data in _entries(record, "evidence_query"):
        name = str(data.get("name"))
        values[name] = data.get("value") if data.get("value") is not None else data.get("note")
        queries[name] = str(data.get("query", ""))
    evidence = _entries(record, "evidence")
    for name, value in ((evidence[-1] if evidence else {}).get("metrics") or {}).items():
        values.setdefault(name, value)
    return values, queries


def evidence_errors(record: dict[str, Any] | None) -> list[str]:
    """What the investigation could not gather (Prometheus down, a forbidden read): said, never hidden."""
    evidence = _entries(record, "evidence")
    return [str(error) for error in (evidence[-1] if evidence else {}).get("errors") or []]


def containers(record: dict[str, Any] | None) -> list[dict[str, Any]]:
    evidence = _entries(record, "evidence")
    return list((evidence[-1] if evidence else {}).get("containers") or [])


def summary_of(kind: str, data: dict[str, Any]) -> str:
    """One line for a timeline entry: the fields a person looks for first."""
    keys = (
        "decision",
        "by",
        "status",
        "verdict",
        "action",
        "reason",
        "comment",
        "detail",
        "error",
        "summary",
    )
    parts = [
        f"{key}: {data[key]}"
        for key in keys
        if isinstance(data.get(key), str | int | float) and data[key] != ""
    ]
    if not parts and kind == "evidence_query":
        parts = [f"{data.get('name')} = {data.get('value')}"]
    return "; ".join(str(part) for part in parts)[:300]


def timeline(record: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {
            "seq": entry.get("seq"),
            "at": entry.get("at"),
            "kind": str(entry.get("kind", "")).replace("_", " "),
            "summary": summary_of(str(entry.get("kind")), entry.get("data") or {}),
        }
        for entry in (record or {}).get("entries", [])
    ]


def validation_words(plan: dict[str, Any]) -> list[str]:
    words = []
    if plan.get("described"):
        words.append(str(plan["described"]))
    checks = [
        str(check.get("name") or check.get("kubernetes") or check.get("promql"))
        for check in plan.get("checks") or []
    ]
    if checks:
        words.append(
            f"Checks {', '.join(checks)} start {plan.get('after_s', 0)} s after the change and are "
            f"watched for {plan.get('for_s', 0)} s; a regression parks a revert proposal for approval."
        )
    return words


def change(context: Context, proposal: Proposal) -> Change | None:
    """The before/after of the plan: the execution's snapshot once it ran, else the live object."""
    plan_data = proposal.action.get("plan")
    if not plan_data:
        return None
    plan = Plan.from_dict(plan_data)
    snapshot = (proposal.execution or {}).get("snapshot")
    if snapshot:
        applied = Plan.from_dict((proposal.execution or {}).get("plan") or plan_data)
        return change_of(applied, snapshot, "before (the snapshot taken just before the change ran)")
    if plan.verb == "create":
        return change_of(plan, None, "before (the object does not exist yet)")
    try:
        live: dict[str, Any] | None = read_object(context.kube, plan.kind, plan.namespace, plan.name)
    except NotFound:
        live = None
    except Exception as exc:  # the page still shows the patch itself; the cluster may be unreachable
        log.warning("reading %s %s/%s for the diff: %s", plan.kind, plan.namespace, plan.name, exc)
        shown = change_of(plan, None, "before")
        shown.problem = f"could not read {plan.kind} {plan.namespace}/{plan.name} from the cluster: {exc}"
        return shown
    shown = change_of(plan, live, "before (the object as the cluster serves it now)")
    meta = (live or {}).get("metadata") or {}
    for key, expected in plan.guard.items():
        if expected is not None and str(meta.get(key)) != str(expected) and proposal.status == "pending":
            shown.problem = (
                f"the object changed since diagnosis ({key} is {meta.get(key)}, was {expected}): "
                "execution will refuse this plan; investigate again"
            )
    return shown


@dataclass
class Detail:
    proposal: Proposal
    record: dict[str, Any] | None
    expired: bool
    may_decide: bool
    citations: list[tuple[str, list[dict[str, str]]]]
    containers: list[dict[str, Any]]
    figures: dict[str, Any]
    queries: dict[str, str]
    charts: list[charts.Chart]
    shown_figures: dict[str, str]
    evidence_errors: list[str]
    change: Change | None
    risk_words: str
    validation: list[str]
    timeline: list[dict[str, Any]]
    times: dict[str, str] = field(default_factory=dict)


def detail(context: Context, proposal: Proposal, can_decide: bool) -> Detail:
    now = context.clock()
    try:
        record: dict[str, Any] | None = context.records.get(proposal.record_id)
    except NotFound:
        record = None
    figures, queries = evidence_figures(record)
    is_expired = expired(proposal, now)
    return Detail(
        proposal=proposal,
        record=record,
        expired=is_expired,
        may_decide=can_decide and proposal.status == ProposalStatus.pending and not is_expired,
        citations=grouped_citations(proposal.diagnosis),
        containers=containers(record),
        figures=figures,
        queries=queries,
        charts=charts.charts(figures),
        shown_figures={name: charts.figure(name, value) for name, value in figures.items()},
        evidence_errors=evidence_errors(record),
        change=change(context, proposal),
        risk_words=RISK_WORDS.get(proposal.risk, proposal.risk),
        validation=validation_words(proposal.validation_plan),
        timeline=timeline(record),
        times={
            "created": ago(proposal.created_at, now),
            "expires": ago(proposal.expires_at, now),
            "decided": ago(proposal.decided_at, now),
        },
    )
