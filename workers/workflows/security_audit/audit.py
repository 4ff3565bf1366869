"""The weekly security audit: every check over the cluster's objects, exceptions, ranking and drift.

``build_audit`` is pure: lists of Kubernetes objects (API JSON dicts with ``kind``) in, a ``Report``
out. ``read_objects`` lists them from a cluster with paged lists; ``run`` joins the two for the CLI
and the scheduled job.

Scores: each section scores 100 x (1 - objects with a low-or-worse finding / objects audited);
the report's score is the mean of the sections', graded A >= 90, B >= 80, C >= 70, D >= 60, else F.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from workers.domain import Finding, Report, Section, Severity
from workers.errors import ActionRefused
from workers.integrations.kubernetes.client import Kube, list_paged
from workers.settings import SecuritySettings, Settings
from workers.workflows.security_audit import (
    drift,
    exceptions,
    images,
    network,
    pod_security,
    rbac,
    secrets,
    severity,
)
from workers.workflows.security_audit.errors import TrivyReportError
from workers.workflows.security_audit.inventory import Inventory, labels_of, name_of, namespace_of

KIND = "security"
LISTED_KINDS = (
    "Namespace",
    "Node",
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
)
FAMILY_KINDS = {
    "rbac": {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"},
    "network": {"NetworkPolicy", "Namespace"},
    "secrets": {"Secret", "ConfigMap", "ServiceAccount"},
    "pod_security": {"Namespace"},
    "images": set(),
}
WORKLOAD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}


def _grade(score: float) -> str:
    for floor, grade in ((90, "A"), (80, "B"), (70, "C"), (60, "D")):
        if score >= floor:
            return grade
    return "F"


def _score(found: list[Finding], audited: int) -> float:
    affected = {(f.kind, f.namespace, f.name) for f in found if f.severity is not Severity.info}
    return round(100.0 * (1 - min(len(affected), audited) / audited), 1) if audited else 100.0


def _recommendations(found: list[Finding], limit: int = 10) -> list[str]:
    by_check: dict[str, list[Finding]] = {}
    for item in found:
        by_check.setdefault(item.check, []).append(item)
    ranked = sorted(
        by_check.values(), key=lambda items: (items[0].severity.rank, -max(i.score for i in items))
    )
    return [
        f"[{items[0].severity.value}] {items[0].title} ({len(items)} object(s)): {items[0].remediation}"
        for items in ranked[:limit]
    ]


def parse_trivy(text: str) -> list[dict[str, Any]]:
    """A trivy JSON report (one image, or a list of them) as a list of reports."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TrivyReportError(f"trivy report is not JSON: {exc}") from exc
    reports = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) and "ArtifactName" in r for r in reports):
        raise TrivyReportError("trivy report: expected `trivy image --format json` output with ArtifactName")
    return reports


def build_audit(
    objects: Iterable[dict[str, Any]],
    settings: Settings | SecuritySettings,
    exceptions_list: list[exceptions.AuditException],
    previous: Report | None,
    *,
    now: dt.datetime | None = None,
    trivy: Iterable[dict[str, Any]] = (),
    unavailable: Mapping[str, str] | None = None,
) -> Report:
    """The security audit of ``objects`` (API JSON with ``kind``), against the previous audit.

    ``unavailable`` maps a kind that could not be listed to why (a forbidden list): the sections that
    need it say so. New critical findings are in ``changes["new_critical"]`` with escalation text.
    """
    config = settings.security if isinstance(settings, Settings) else settings
    now = now or dt.datetime.now(dt.UTC)
    inventory = Inventory.of(objects)
    unavailable = dict(unavailable or {})
    rbac_found, rbac_summary, rbac_audited = rbac.check(inventory, config)
    bound = set(rbac.effective_permissions(inventory))
    results = {
        "rbac": (rbac_found, rbac_summary, rbac_audited),
        "network": network.check(inventory, config),
        "secrets": secrets.check(inventory, config, now, bound),
        "pod_security": pod_security.check(inventory, config),
        "images": images.check(inventory, config, trivy),
    }
    labels = {
        (str(obj.get("kind")), namespace_of(obj), name_of(obj)): labels_of(obj)
        for kinds in inventory.by_kind.values()
        for obj in kinds
    }
    today = now.date()
    sections: list[Section] = []
    excepted: list[Finding] = []
    for family, title in severity.FAMILIES.items():
        found, summary, audited = results[family]
        counted, skipped = exceptions.apply(
            found, exceptions_list, lambda f: labels.get((f.kind or "", f.namespace, f.name or ""), {}), today
        )
        excepted += skipped
        counted.sort(key=lambda f: (f.severity.rank, -f.score))
        missing = sorted(k for k in unavailable if k in FAMILY_KINDS[family] or k in WORKLOAD_KINDS)
        summary = {
            **summary,
            "audited": audited,
            "excepted": len(skipped),
            "by_severity": {s.value: sum(1 for f in counted if f.severity is s) for s in Severity},
        }
        sections.append(
            Section(
                id=family,
                title=title,
                score=_score(counted, audited),
                summary=summary,
                findings=counted,
                unavailable="; ".join(f"could not list {k}: {unavailable[k]}" for k in missing) or None,
            )
        )
    scored = [s.score for s in sections if s.score is not None]
    overall = round(sum(scored) / len(scored), 1) if scored else None
    report = Report(
        id=f"{KIND}-{now.strftime('%Y%m%dT%H%M%SZ')}",
        kind=KIND,
        period_start=(now - dt.timedelta(days=7)).isoformat(),
        period_end=now.isoformat(),
        generated_at=now.isoformat(),
        score=overall,
        grade=_grade(overall) if overall is not None else None,
        sections=sections,
        excepted=sorted(excepted, key=lambda f: (f.severity.rank, -f.score)),
        notes=[
            "CVE scanning needs an image scanner: pass a trivy JSON report to merge its vulnerabilities."
            if not trivy
            else "Vulnerabilities merged from the trivy report given."
        ],
    )
    report.recommendations = _recommendations(report.findings())
    report.changes = drift.changes(report.findings(), rbac_summary["permissions"], previous, report.score)
    return report


# --- reading the cluster --------------------------------------------------------------------------


def read_objects(kube: Kube, page_size: int = 500) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every object the audit reads, with paged lists; kinds the API forbids are returned apart."""
    found: list[dict[str, Any]] = []
    forbidden: dict[str, str] = {}
    for kind in LISTED_KINDS:
        try:
            found.extend(list_paged(kube, kind, page_size=page_size))
        except ActionRefused as exc:
            forbidden[kind] = str(exc)
    return found, forbidden


def run(
    kube: Kube,
    settings: Settings,
    previous: Report | None,
    *,
    now: dt.datetime | None = None,
    exceptions_file: Path | None = None,
    trivy_file: Path | None = None,
) -> Report:
    """Read the cluster and audit it; the exceptions file defaults to ``security.exceptions_file``."""
    path = exceptions_file or settings.security.exceptions_file
    accepted = exceptions.load(path) if path is not None else []
    trivy = parse_trivy(trivy_file.read_text(encoding="utf-8")) if trivy_file is not None else []
    objects, forbidden = read_objects(kube)
    return build_audit(objects, settings, accepted, previous, now=now, trivy=trivy, unavailable=forbidden)
