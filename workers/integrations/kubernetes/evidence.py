"""Evidence from the Kubernetes API: the pod, its containers, previous logs, events, owners and node."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workers.errors import AiopsError, NotFound
from workers.integrations.advisers.redaction import redact
from workers.settings import LimitSettings

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

REVISION = "deployment.kubernetes.io/revision"


def container_summaries(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per (init) container: state, last termination, resources and probes."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    specs = {c["name"]: (c, True) for c in spec.get("initContainers") or []}
    specs.update({c["name"]: (c, False) for c in spec.get("containers") or []})
    statuses = {
        s["name"]: s
        for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    }
    summaries = []
    for name, (container, is_init) in specs.items():
        st = statuses.get(name, {})
        waiting = (st.get("state") or {}).get("waiting")
        terminated = (st.get("lastState") or {}).get("terminated") or (st.get("state") or {}).get(
            "terminated"
        )
        summaries.append(
            {
                "name": name,
                "image": container.get("image"),
                "init": is_init,
                "ready": bool(st.get("ready")),
                "restartCount": int(st.get("restartCount") or 0),
                "waiting": {"reason": waiting.get("reason"), "message": waiting.get("message")}
                if waiting
                else None,
                "lastTerminated": {
                    key: terminated.get(key)
                    for key in ("reason", "exitCode", "signal", "startedAt", "finishedAt", "message")
                }
                if terminated
                else None,
                "resources": container.get("resources") or {},
                "livenessProbe": container.get("livenessProbe"),
                "readinessProbe": container.get("readinessProbe"),
                "startupProbe": container.get("startupProbe"),
                "env": [e.get("name") for e in container.get("env") or []],
            }
        )
    return summaries


def _event_summary(event: dict[str, Any]) -> dict[str, Any]:
    involved = event.get("involvedObject") or {}
    return {
        "type": event.get("type"),
        "reason": event.get("reason"),
        "message": redact(event.get("message") or ""),
        "count": event.get("count") or 1,
        "firstTimestamp": event.get("firstTimestamp") or event.get("eventTime"),
        "lastTimestamp": event.get("lastTimestamp") or event.get("eventTime"),
        "object": f"{involved.get('kind')}/{involved.get('name')}",
        "fieldPath": involved.get("fieldPath"),
    }


def _digest(value: Any) -> str:
    """Env values are compared between revisions, never shown: a short digest is enough."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def template_containers(containers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What of a pod template's containers can break a start: image, command, args, env (digested)."""
    return [
        {
            "name": c.get("name"),
            "image": c.get("image"),
            "command": c.get("command"),
            "args": c.get("args"),
            "env": [
                {"name": e.get("name"), "value": _digest(e["value"] if "value" in e else e.get("valueFrom"))}
                for e in c.get("env") or []
            ],
        }
        for c in containers
    ]


def _owner_of(obj: dict[str, Any], kind: str) -> str | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            name = ref.get("name")
            return None if name is None else str(name)
    return None


def owner_chain(kube: Kube, namespace: str, pod: dict[str, Any]) -> dict[str, Any] | None:
    """ReplicaSet -> Deployment, with the revision history and when the current revision rolled out."""
    rs_name = _owner_of(pod, "ReplicaSet")
    if rs_name is None:
        return None
    replicaset = kube.get_replicaset(namespace, rs_name)
    deployment_name = _owner_of(replicaset, "Deployment")
    chain: dict[str, Any] = {
        "replicaset": rs_name,
        "deployment": deployment_name,
        "revision": None,
        "rolled_out_at": None,
        "revisions": [],
    }
    if deployment_name is None:
        return chain
    deployment = kube.get_deployment(namespace, deployment_name)
    selector = (deployment.get("spec") or {}).get("selector", {}).get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    revisions: list[dict[str, Any]] = []
    for rs in kube.list_replicasets(namespace, label_selector or None):
        if _owner_of(rs, "Deployment") != deployment_name:
            continue
        meta = rs.get("metadata") or {}
        revision = int((meta.get("annotations") or {}).get(REVISION, 0) or 0)
        containers = ((rs.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        revisions.append(
            {
                "revision": revision,
                "replicaset": meta.get("name"),
                "images": [c.get("image") for c in containers],
                "env": {c.get("name"): sorted(e.get("name") for e in c.get("env") or []) for c in containers},
                "containers": template_containers(containers),
                "created": meta.get("creationTimestamp"),
            }
        )
    revisions.sort(key=lambda item: int(item["revision"] or 0), reverse=True)
    deployment_revision = int(
        ((deployment.get("metadata") or {}).get("annotations") or {}).get(REVISION, 0) or 0
    )
    chain["revision"] = deployment_revision or (revisions[0]["revision"] if revisions else None)
    current = next((r for r in revisions if r["revision"] == chain["revision"]), None)
    chain["rolled_out_at"] = current["created"] if current else None
    chain["revisions"] = revisions
    chain["generation"] = (deployment.get("metadata") or {}).get("generation")
    chain["resourceVersion"] = (deployment.get("metadata") or {}).get("resourceVersion")
    return chain


def node_summary(kube: Kube, node_name: str | None) -> dict[str, Any] | None:
    if not node_name:
        return None
    node = kube.get_node(node_name)
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = next((c.get("status") == "True" for c in conditions if c.get("type") == "Ready"), None)
    return {
        "name": node_name,
        "ready": ready,
        "conditions": [
            {"type": c.get("type"), "status": c.get("status"), "reason": c.get("reason")} for c in conditions
        ],
    }


def gather_kubernetes(
    kube: Kube, target: dict[str, str], wanted: list[str], limits: LimitSettings, evidence: dict[str, Any]
) -> None:
    """Fill ``evidence`` with the kinds in ``wanted``; failures are noted in ``evidence['errors']``."""
    namespace, name = target["namespace"], target["name"]
    try:
        pod = kube.get_pod(namespace, name)
    except NotFound:
        evidence["pod"] = None
        evidence["errors"].append(f"kubernetes: pod {namespace}/{name} not found")
        return
    evidence["pod"] = pod
    evidence["containers"] = container_summaries(pod)
    steps: dict[str, Callable[[], object]] = {
        "previous_logs": lambda: _logs(kube, namespace, name, evidence["containers"], limits),
        "events": lambda: [_event_summary(e) for e in kube.events_for(namespace, "Pod", name)],
        "owner": lambda: owner_chain(kube, namespace, pod),
        "node": lambda: node_summary(kube, (pod.get("spec") or {}).get("nodeName")),
    }
    for kind, step in steps.items():
        if kind not in wanted and not (kind == "owner" and "events" in wanted):
            continue
        try:
            evidence[kind] = step()
        except AiopsError as exc:
            evidence["errors"].append(f"kubernetes {kind}: {exc}")


def _logs(
    kube: Kube, namespace: str, name: str, containers: list[dict[str, Any]], limits: LimitSettings
) -> dict[str, str]:
    logs: dict[str, str] = {}
    for container in containers:
        if not container["restartCount"] and not container["lastTerminated"] and not container["init"]:
            continue
        for previous in (True, False):
            try:
                text = kube.pod_log(
                    namespace, name, container["name"], previous, limits.log_tail_lines, limits.log_tail_bytes
                )
            except AiopsError:
                continue
            logs[container["name"]] = redact(text)
            break
    return logs
