"""The capacity section: requests and limits against allocatable, per node and for the cluster; N-1 headroom.

Requests count for pods that hold their node's resources (not Succeeded or Failed). N-1 headroom: would
the pods still fit on the Ready, schedulable nodes if the largest of them were lost? Overcommit: limits
above allocatable, which the node can only honour while not every pod uses its limit.
"""

from __future__ import annotations

from typing import Any

from workers.domain import Finding, Section, Severity
from workers.integrations.kubernetes.quantities import humanize_bytes
from workers.workflows.health_report.inventory import Inventory, Resources
from workers.workflows.health_report.scoring import section_score

NEARLY_FULL = 0.9
"""Requests above this share of a node's allocatable leave no room for a new pod."""
CHART_NODES = 20
"""Nodes drawn in the capacity chart: the fullest ones."""


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def capacity_section(inventory: Inventory) -> Section:
    missing = inventory.why_missing("pods", "nodes")
    if missing:
        return Section(id="capacity", title="Capacity", unavailable=missing)
    requests: dict[str, Resources] = {}
    limits: dict[str, Resources] = {}
    for pod in inventory.pods:
        if pod.node and pod.phase not in ("Succeeded", "Failed"):
            requests[pod.node] = requests.get(pod.node, Resources()) + pod.requests
            limits[pod.node] = limits.get(pod.node, Resources()) + pod.limits
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = []
    for node in inventory.nodes:
        req, lim, alloc = (
            requests.get(node.name, Resources()),
            limits.get(node.name, Resources()),
            node.allocatable,
        )
        figures = {
            "cpu_requests_pct": _pct(req.cpu_m, alloc.cpu_m),
            "memory_requests_pct": _pct(req.memory_b, alloc.memory_b),
            "cpu_limits_pct": _pct(lim.cpu_m, alloc.cpu_m),
            "memory_limits_pct": _pct(lim.memory_b, alloc.memory_b),
        }
        row: dict[str, Any] = {"node": node.name, **figures}
        rows.append(row)
        where = {"kind": "Node", "name": node.name}
        fullest = max(figures["cpu_requests_pct"] or 0.0, figures["memory_requests_pct"] or 0.0)
        if fullest >= 100 * NEARLY_FULL:
            findings.append(
                Finding(
                    check="capacity.node_full",
                    title="Node nearly full",
                    severity=Severity.medium,
                    score=4.0,
                    message=f"node {node.name}: requests at {row['cpu_requests_pct']}% CPU and "
                    f"{row['memory_requests_pct']}% memory of allocatable",
                    remediation="spread the workloads (topology spread, anti-affinity) or add nodes",
                    evidence=row,
                    **where,
                )
            )
        over = max(figures["cpu_limits_pct"] or 0.0, figures["memory_limits_pct"] or 0.0)
        if over > 100:
            findings.append(
                Finding(
                    check="capacity.overcommit",
                    title="Node overcommitted",
                    severity=Severity.low,
                    score=2.0 + over / 100,
                    message=f"node {node.name}: limits at {row['cpu_limits_pct']}% CPU and "
                    f"{row['memory_limits_pct']}% memory of allocatable",
                    remediation="lower limits toward real use (aiops rightsize) so that memory pressure "
                    "cannot evict pods",
                    evidence=row,
                    **where,
                )
            )
    usable = [n for n in inventory.nodes if n.ready == "True" and not n.unschedulable]
    total_alloc = sum((n.allocatable for n in usable), Resources())
    total_req = sum(requests.values(), Resources())
    total_lim = sum(limits.values(), Resources())
    largest = max(usable, key=lambda n: (n.allocatable.cpu_m, n.allocatable.memory_b), default=None)
    n1 = (
        total_alloc + Resources(-largest.allocatable.cpu_m, -largest.allocatable.memory_b)
        if largest
        else Resources()
    )
    short_cpu, short_memory = n1.cpu_m - total_req.cpu_m, n1.memory_b - total_req.memory_b
    headroom: dict[str, Any] = {
        "cpu_m": short_cpu,
        "memory_b": short_memory,
        "fits_without_largest_node": short_cpu >= 0 and short_memory >= 0,
        "largest_node": largest.name if largest else None,
    }
    if largest and not headroom["fits_without_largest_node"]:
        findings.append(
            Finding(
                check="capacity.no_n1_headroom",
                title="No N-1 headroom",
                severity=Severity.high,
                score=8.0,
                kind="Cluster",
                name="cluster",
                message=f"losing node {largest.name} would leave "
                + " and ".join(
                    text
                    for short, text in (
                        (short_cpu < 0, f"{-short_cpu}m CPU"),
                        (short_memory < 0, f"{humanize_bytes(-short_memory)} memory"),
                    )
                    if short
                )
                + " short for the pods' requests",
                remediation="add a node (or capacity equal to the largest node) before the next drain or "
                "failure",
                evidence=headroom,
            )
        )
    cluster = {
        "nodes_usable": len(usable),
        "cpu_allocatable_m": total_alloc.cpu_m,
        "memory_allocatable_b": total_alloc.memory_b,
        "cpu_requests_m": total_req.cpu_m,
        "memory_requests_b": total_req.memory_b,
        "cpu_requests_pct": _pct(total_req.cpu_m, total_alloc.cpu_m),
        "memory_requests_pct": _pct(total_req.memory_b, total_alloc.memory_b),
        "cpu_limits_pct": _pct(total_lim.cpu_m, total_alloc.cpu_m),
        "memory_limits_pct": _pct(total_lim.memory_b, total_alloc.memory_b),
    }
    fullest_rows = sorted(rows, key=lambda r: -max(r["cpu_requests_pct"] or 0, r["memory_requests_pct"] or 0))
    chart = {
        "title": "Requests vs allocatable per node (fullest first)",
        "unit": "%",
        "max": 100,
        "series": ["CPU", "memory"],
        "bars": [
            {
                "label": r["node"],
                "values": [r["cpu_requests_pct"] or 0.0, r["memory_requests_pct"] or 0.0],
            }
            for r in fullest_rows[:CHART_NODES]
        ],
    }
    summary = {"cluster": cluster, "n_minus_1": headroom, "nodes": fullest_rows, "charts": [chart]}
    return Section(
        id="capacity",
        title="Capacity",
        summary=summary,
        findings=findings,
        score=section_score(len(inventory.nodes) + 1, findings),
    )
