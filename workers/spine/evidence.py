"""Gather all evidence a rule asks for about one target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.integrations.kubernetes.evidence import gather_kubernetes
from workers.integrations.prometheus.queries import gather_prometheus
from workers.settings import LimitSettings

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube
    from workers.integrations.prometheus.client import Prometheus


def empty_evidence(target: dict[str, str]) -> dict[str, Any]:
    return {
        "target": dict(target),
        "pod": None,
        "containers": [],
        "previous_logs": {},
        "events": [],
        "owner": None,
        "node": None,
        "metrics": {},
        "metric_notes": {},
        "queries": {},
        "errors": [],
    }


def gather(
    kube: Kube,
    prometheus: Prometheus,
    target: dict[str, str],
    kubernetes_kinds: list[str],
    queries: dict[str, str],
    limits: LimitSettings,
) -> dict[str, Any]:
    """Evidence for ``target``: what the rule lists, with failures noted rather than raised."""
    evidence = empty_evidence(target)
    if kubernetes_kinds:
        gather_kubernetes(kube, target, kubernetes_kinds, limits, evidence)
    if queries:
        gather_prometheus(prometheus, queries, evidence)
    return evidence


def summary(evidence: dict[str, Any]) -> dict[str, Any]:
    """A short form of the evidence for the audit record."""
    containers = [
        {key: c.get(key) for key in ("name", "restartCount", "waiting", "lastTerminated", "ready")}
        for c in evidence.get("containers") or []
    ]
    return {
        "target": evidence["target"],
        "pod_found": evidence.get("pod") is not None,
        "containers": containers,
        "log_lines": {
            name: len(text.splitlines()) for name, text in (evidence.get("previous_logs") or {}).items()
        },
        "events": len(evidence.get("events") or []),
        "owner": evidence.get("owner")
        and {k: evidence["owner"].get(k) for k in ("replicaset", "deployment", "revision")},
        "metrics": shown_metrics(evidence),
        "errors": evidence.get("errors"),
    }


def shown_metrics(evidence: dict[str, Any]) -> dict[str, Any]:
    """Each figure, or the note saying why there is none yet (never a bare 0 or None beside it)."""
    notes = evidence.get("metric_notes") or {}
    return {
        name: notes[name] if value is None and name in notes else value
        for name, value in (evidence.get("metrics") or {}).items()
    }


def query_entry(evidence: dict[str, Any], name: str) -> dict[str, Any]:
    """The audit entry of one Prometheus evidence query."""
    entry = {"name": name, "query": evidence["queries"][name], "value": evidence["metrics"].get(name)}
    note = (evidence.get("metric_notes") or {}).get(name)
    if note:
        entry["note"] = note
    return entry
