"""The nodes section: Ready, pressure conditions, unschedulable, kubelet version skew, age."""

from __future__ import annotations

import re
from datetime import datetime
from statistics import median

from workers.domain import Finding, Section, Severity
from workers.workflows.health_report.inventory import Inventory
from workers.workflows.health_report.scoring import section_score

_MINOR = re.compile(r"v?(\d+)\.(\d+)")


def minor_of(version: str) -> tuple[int, int] | None:
    found = _MINOR.match(version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def nodes_section(inventory: Inventory, now: datetime) -> Section:
    missing = inventory.why_missing("nodes")
    if missing:
        return Section(id="nodes", title="Nodes", unavailable=missing)
    findings: list[Finding] = []
    versions = {node.name: minor_of(node.kubelet) for node in inventory.nodes}
    newest = max((v for v in versions.values() if v), default=None)
    for node in inventory.nodes:
        where = {"kind": "Node", "name": node.name}
        if node.ready != "True":
            findings.append(
                Finding(
                    check="nodes.not_ready",
                    title="Node not Ready",
                    severity=Severity.critical,
                    score=9.0,
                    message=f"node {node.name} is not Ready (Ready={node.ready})",
                    remediation=f"kubectl describe node {node.name}; check the kubelet and the container "
                    f"runtime, "
                    "or drain and replace the node",
                    evidence={"ready": node.ready},
                    **where,
                )
            )
        for condition in node.pressure:
            findings.append(
                Finding(
                    check="nodes.pressure",
                    title=f"Node under {condition}",
                    severity=Severity.high,
                    score=7.0,
                    message=f"node {node.name} reports {condition}",
                    remediation="free the resource (evict or move heavy pods, clean the disk) or add "
                    "capacity",
                    evidence={"condition": condition},
                    **where,
                )
            )
        if node.unschedulable:
            findings.append(
                Finding(
                    check="nodes.unschedulable",
                    title="Node cordoned",
                    severity=Severity.medium,
                    score=3.0,
                    message=f"node {node.name} is cordoned (spec.unschedulable)",
                    remediation=f"kubectl uncordon {node.name} once its maintenance is over",
                    **where,
                )
            )
        version = versions[node.name]
        if newest and version and version != newest:
            behind = (newest[0] - version[0]) * 100 + newest[1] - version[1]
            findings.append(
                Finding(
                    check="nodes.kubelet_skew",
                    title="Kubelet version behind",
                    severity=Severity.high if behind >= 3 else Severity.low,
                    score=2.0 + behind,
                    message=f"node {node.name} runs kubelet {node.kubelet}, {behind} minor version(s) behind "
                    f"v{newest[0]}.{newest[1]}",
                    remediation="upgrade the node (kubelets may be at most 3 minor versions older than "
                    "the API server)",
                    evidence={"kubelet": node.kubelet, "newest": f"v{newest[0]}.{newest[1]}"},
                    **where,
                )
            )
    ages = sorted((now - n.created).total_seconds() / 86400 for n in inventory.nodes if n.created)
    summary = {
        "total": len(inventory.nodes),
        "ready": sum(1 for n in inventory.nodes if n.ready == "True"),
        "not_ready": sum(1 for n in inventory.nodes if n.ready != "True"),
        "under_pressure": sum(1 for n in inventory.nodes if n.pressure),
        "unschedulable": sum(1 for n in inventory.nodes if n.unschedulable),
        "kubelet_versions": dict(
            sorted(
                {
                    v: sum(1 for n in inventory.nodes if n.kubelet == v)
                    for v in {n.kubelet for n in inventory.nodes}
                }.items()
            )
        ),
        "age_days": {
            "min": round(ages[0], 1),
            "median": round(median(ages), 1),
            "max": round(ages[-1], 1),
        }
        if ages
        else {},
    }
    return Section(
        id="nodes",
        title="Nodes",
        summary=summary,
        findings=findings,
        score=section_score(len(inventory.nodes), findings),
    )
