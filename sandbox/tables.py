"""Server-side printing: ``meta.k8s.io/v1`` Tables for clients that ask for them (``kubectl get``).

kubectl sends ``Accept: application/json;as=Table;g=meta.k8s.io;v=v1`` and prints whatever columns
the server returns; without this it shows only NAME and AGE. The columns follow kubectl's printers
for the kinds AI advisers look at first (pods, deployments, replica sets, events, nodes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.units import parse_time

Row = list[Any]


def wants_table(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a Table (kubectl's get does)."""
    return "as=Table" in accept


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints ages: ``45s``, ``3m20s``, ``17m``, ``5h3m``, ``10h``, ``6d``."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


def _age(obj: dict[str, Any], now: float) -> str:
    created = obj["metadata"].get("creationTimestamp")
    return human_duration(now - parse_time(created)) if created else "<unknown>"


def _pod_row(pod: dict[str, Any], now: float) -> Row:
    status, spec = pod.get("status") or {}, pod.get("spec") or {}
    statuses = status.get("containerStatuses") or []
    reason = status.get("reason") or status.get("phase") or "Unknown"
    restarts, last = 0, None
    for c in statuses:
        restarts += int(c.get("restartCount", 0))
        state = c.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            reason = state["terminated"].get("reason") or f"ExitCode:{state['terminated'].get('exitCode')}"
        finished = ((c.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if finished and (last is None or finished > last):
            last = finished
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    ready = sum(1 for c in statuses if c.get("ready"))
    shown = (
        f"{restarts} ({human_duration(now - parse_time(last))} ago)" if restarts and last else str(restarts)
    )
    return [f"{ready}/{len(spec.get('containers') or [])}", reason, shown, _age(pod, now),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>"]  # fmt: skip


def _deployment_row(dep: dict[str, Any], now: float) -> Row:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", status.get("updatedReplicas", 0),
            status.get("availableReplicas", 0), _age(dep, now)]  # fmt: skip


def _replicaset_row(rs: dict[str, Any], now: float) -> Row:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return [spec.get("replicas", 1), status.get("replicas", 0), status.get("readyReplicas", 0), _age(rs, now)]


def _event_row(event: dict[str, Any], now: float) -> Row:
    involved = event.get("involvedObject") or {}
    seen = event.get("lastTimestamp") or event.get("eventTime") or event["metadata"].get("creationTimestamp")
    return [human_duration(now - parse_time(seen)) if seen else "<unknown>", event.get("type", ""),
            event.get("reason", ""), f"{involved.get('kind', '').lower()}/{involved.get('name', '')}",
            event.get("message", "")]  # fmt: skip


def _node_row(node: dict[str, Any], now: float) -> Row:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), "Unknown")
    status = "Ready" if ready == "True" else "NotReady"
    if (node.get("spec") or {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    version = ((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [status, "<none>", _age(node, now), version]


_COLUMNS: dict[str, tuple[list[tuple[str, str, int]], Callable[[dict[str, Any], float], Row]]] = {
    "Pod": ([("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), ("Age", "string", 0),
             ("IP", "string", 1), ("Node", "string", 1)], _pod_row),
    "Deployment": ([("Ready", "string", 0), ("Up-to-date", "integer", 0), ("Available", "integer", 0),
                    ("Age", "string", 0)], _deployment_row),
    "ReplicaSet": ([("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0),
                    ("Age", "string", 0)], _replicaset_row),
    "Event": ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0),
               ("Object", "string", 0), ("Message", "string", 0)], _event_row),
    "Node": ([("Status", "string", 0), ("Roles", "string", 0), ("Age", "string", 0),
              ("Version", "string", 0)], _node_row),
}  # fmt: skip


def table(kind: str, objects: list[dict[str, Any]], resource_version: str, now: float) -> dict[str, Any]:
    """A ``Table`` of ``objects`` (all of one kind) with kubectl's columns for that kind."""
    columns, row = _COLUMNS.get(kind, ([("Age", "string", 0)], lambda obj, t: [_age(obj, t)]))
    name_last = kind == "Event"  # kubectl shows events without their generated names
    name = {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name",
        "priority": int(name_last),
    }
    definitions = [
        {"name": n, "type": t, "format": "", "description": n, "priority": p} for n, t, p in columns
    ]
    definitions = [*definitions, name] if name_last else [name, *definitions]
    rows = []
    for obj in objects:
        meta = obj["metadata"]
        partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        cells = [*row(obj, now), meta["name"]] if name_last else [meta["name"], *row(obj, now)]
        rows.append({"cells": cells, "object": partial})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
