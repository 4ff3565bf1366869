"""Compact evidence dicts for the diagnosis tests, in the shape of docs/ARCHITECTURE.md."""

from __future__ import annotations

from typing import Any

ROLLOUT = "2026-11-25T09:30:00Z"
LIVENESS_REFUSED = (
    'Liveness probe failed: Get "http://10.244.1.9:8080/healthz": dial tcp 10.244.1.9:8080: connect: '
    "connection refused"
)
TRACEBACK = 'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n'


def container(
    name: str = "app",
    *,
    waiting: str | None = "CrashLoopBackOff",
    waiting_message: str | None = None,
    reason: str | None = "Error",
    exit_code: int | None = 1,
    signal: int | None = None,
    message: str | None = None,
    init: bool = False,
    ready: bool = False,
    restarts: int = 5,
    limit: str | None = "256Mi",
    request: str | None = "256Mi",
    liveness: dict[str, Any] | None = None,
    startup: dict[str, Any] | None = None,
    started_at: str = "2026-11-25T09:40:00Z",
    finished_at: str = "2026-11-25T09:40:05Z",
) -> dict[str, Any]:
    """One entry of ``evidence["containers"]``; ``exit_code=None`` means no last termination."""
    resources: dict[str, Any] = {}
    if limit:
        resources["limits"] = {"memory": limit}
    if request:
        resources["requests"] = {"memory": request}
    last = None
    if exit_code is not None:
        last = {
            "reason": reason,
            "exitCode": exit_code,
            "signal": signal,
            "startedAt": started_at,
            "finishedAt": finished_at,
            "message": message,
        }
    return {
        "name": name,
        "image": f"registry.example.com/{name}:1.0",
        "init": init,
        "ready": ready,
        "restartCount": restarts,
        "waiting": {"reason": waiting, "message": waiting_message} if waiting else None,
        "lastTerminated": last,
        "resources": resources,
        "livenessProbe": liveness,
        "readinessProbe": None,
        "startupProbe": startup,
    }


def event(
    reason: str,
    message: str,
    *,
    kind: str = "Warning",
    count: int = 3,
    first: str = "2026-11-25T09:30:20Z",
    field_path: str | None = None,
) -> dict[str, Any]:
    """One entry of ``evidence["events"]``."""
    return {
        "type": kind,
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": "2026-11-25T09:45:00Z",
        "object": "Pod/web-1",
        "fieldPath": field_path,
    }


def owner(
    *,
    current: int = 2,
    previous: int | None = 1,
    rolled_out_at: str = ROLLOUT,
    images: tuple[str, str] = ("shop/web:1.1", "shop/web:1.0"),
    containers: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """``evidence["owner"]`` of a Deployment whose ``current`` revision rolled out at ``rolled_out_at``."""
    revisions = [
        {"revision": current, "replicaset": "web-new", "images": [images[0]], "created": rolled_out_at}
    ]
    if previous is not None:
        revisions.append(
            {
                "revision": previous,
                "replicaset": "web-old",
                "images": [images[1]],
                "created": "2026-11-18T14:00:00Z",
            }
        )
    if containers is not None:
        revisions[0]["containers"] = containers[0]
        if previous is not None:
            revisions[1]["containers"] = containers[1]
    return {
        "replicaset": "web-new",
        "deployment": "web",
        "revision": current,
        "rolled_out_at": rolled_out_at,
        "revisions": revisions,
    }


def evidence(
    *containers: dict[str, Any],
    logs: dict[str, str] | None = None,
    events: list[dict[str, Any]] | None = None,
    owner: dict[str, Any] | None = None,
    node: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An evidence dict for pod shop/web-1 (one crash-looping ``app`` container by default)."""
    return {
        "target": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
        "pod": None,
        "containers": list(containers) or [container()],
        "previous_logs": logs or {},
        "events": events or [],
        "owner": owner,
        "node": node,
        "metrics": metrics or {},
        "queries": {},
        "errors": [],
    }
