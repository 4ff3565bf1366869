"""The recommendation as a person reads it (``aiops scaling recommend --format md``, the diagnosis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from workers.integrations.kubernetes.quantities import humanize_bytes


def headline(result: dict[str, Any]) -> str:
    """One sentence: what is proposed, or why nothing is."""
    name = f"{result['namespace']}/{result['deployment']}"
    if result.get("status") != "ok" or result.get("max_replicas") is None:
        return f"no HPA proposed for {name}: {result.get('status')}"
    verb = "create" if result["action"] == "create-hpa" else "patch"
    text = (
        f"{verb} an HPA for {name}: min {result['min_replicas']}, max {result['max_replicas']}, "
        f"CPU target {round(result['target_utilization'] * 100)} %; desired now {result['desired_replicas']} "
        f"(from {result['current_replicas']})"
    )
    if result.get("bounded_by_capacity"):
        text += "; max bounded by cluster capacity"
    return text


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Scaling recommendation: {result['namespace']}/{result['deployment']}",
        "",
        headline(result),
        "",
    ]
    usage = result.get("usage") or {}
    requests = result.get("requests") or {}
    lines += [
        "| figure | value |",
        "|---|---|",
        f"| status | {result.get('status')} |",
        f"| action | {result.get('action')} |",
        f"| current replicas (ready) | {result['current_replicas']} ({result.get('ready_replicas')}) |",
        f"| CPU request per pod | {requests.get('cpu_cores')} cores |",
        f"| memory request per pod | {humanize_bytes(float(requests.get('memory_bytes') or 0))} |",
        f"| CPU per pod, 5m / 1h | {usage.get('per_pod_5m_cores')} / {usage.get('per_pod_1h_cores')} cores |",
        f"| peak total CPU (over {round((usage.get('window_s') or 0) / 3600, 1)} h) | "
        f"{usage.get('peak_total_cores')} cores |",
        f"| utilization now | {result.get('utilization_now')} |",
        f"| target utilization | {result['target_utilization']} |",
        f"| min / desired / max | {result.get('min_replicas')} / {result.get('desired_replicas')} / "
        f"{result.get('max_replicas')} |",
        f"| metrics API | {(result.get('metrics_api') or {}).get('detail')} |",
    ]
    capacity = result.get("capacity") or {}
    if capacity.get("fits") is not None:
        lines += [
            "",
            "## Capacity (requests, one node lost)",
            "",
            f"Fits: {capacity['fits']}; placeable {capacity.get('placeable_replicas')} of "
            f"{capacity.get('wanted_replicas')} replicas on {capacity.get('nodes')} node(s); free "
            f"{capacity.get('free_cpu_cores')} cores, "
            f"{humanize_bytes(float(capacity.get('free_memory_bytes') or 0))}.",
        ]
        if capacity.get("shortfall"):
            lines.append(f"Shortfall: {capacity['shortfall']['detail']}.")
    cost = result.get("cost")
    if cost:
        lines += [
            "",
            "## Cost per month (requests × price × 730 h)",
            "",
            f"min {cost['monthly_delta_min']:+.2f}, expected {cost['monthly_delta_expected']:+.2f}, "
            f"max {cost['monthly_delta_max']:+.2f} {cost['currency']} "
            f"({cost['per_replica_month']} per replica-month at {cost['price_per_vcpu_hour']}/vCPU-h and "
            f"{cost['price_per_gib_hour']}/GiB-h)",
        ]
    replay = result.get("replay")
    if replay and replay.get("hours"):
        lines += [
            "",
            f"## Replay through the HPA algorithm ({len(replay['hours'])} h, average "
            f"{replay['average_replicas']} replicas, at max "
            f"{round((replay['share_at_max'] or 0) * 100, 1)} % of the time)",
            "",
            "| hour (UTC) | peak CPU cores | replicas min-max | peak utilization |",
            "|---|---|---|---|",
        ]
        for hour in replay["hours"][-48:]:
            start = dt.datetime.fromtimestamp(hour["start"], dt.UTC).strftime("%Y-%m-%d %H:00")
            lines.append(
                f"| {start} | {hour['peak_demand_cores']} | {hour['replicas_min']}-{hour['replicas_max']} | "
                f"{hour['peak_utilization']} |"
            )
        if len(replay["hours"]) > 48:
            lines.append(f"(last 48 of {len(replay['hours'])} hours; --format json has them all)")
    return "\n".join(lines) + "\n"
