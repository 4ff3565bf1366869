"""Pod status and kubelet events, computed from a pod's behaviour and the sandbox clock.

Pods the sandbox creates carry a ``PodBehaviour``; their status is rebuilt on every read, so a
crash-looping container's ``restartCount`` grows by one per restart period. Pods loaded from
manifests keep the status they were given, and grow the same way while CrashLoopBackOff.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from typing import Any

from sandbox.outcomes import PodBehaviour
from sandbox.resources import ResourceType
from sandbox.store import ObjectStore, clone
from sandbox.units import go_duration, parse_quantity, rfc3339

_TERMINATED = {"crashloop": (1, "Error"), "oom_killed": (137, "OOMKilled"), "probe_killed": (137, "Error")}


def _digest(*parts: Any) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def qos_class(spec: dict[str, Any]) -> str:
    """Guaranteed, Burstable or BestEffort, as the kubelet classifies a pod."""
    containers = spec.get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("limits") or r.get("requests") for r in resources):
        return "BestEffort"
    for r in resources:
        limits = r.get("limits") or {}
        requests = r.get("requests") or limits
        for name in ("cpu", "memory"):
            if name not in limits or parse_quantity(requests.get(name, limits[name])) != parse_quantity(
                limits[name]
            ):
                return "Burstable"
    return "Guaranteed"


def _crash_status(pod: dict[str, Any], b: PodBehaviour, name: str, now: float) -> dict[str, Any]:
    restarts = b.restarts(now)
    code, reason = _TERMINATED[b.state]
    code = b.exit_code if b.exit_code is not None else code
    if b.state == "crashloop" and code == 0:
        reason = "Completed"
    end = min(now, b.deleted) if b.deleted is not None else now
    ticks = max(0, math.floor((end - b.started) / b.restart_period_s))
    started = b.started + ticks * b.restart_period_s
    backoff = go_duration(min(10 * 2 ** max(restarts - 1, 0), 300))
    meta = pod["metadata"]
    return {
        "restartCount": restarts,
        "ready": False,
        "started": False,
        "state": {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {backoff} restarting failed container={name} pod={meta['name']}_"
            f"{meta['namespace']}({meta['uid']})",
        }},
        "lastState": {"terminated": {
            "exitCode": code,
            "reason": reason,
            "startedAt": rfc3339(started),
            "finishedAt": rfc3339(min(started + 1, end)),
            "containerID": f"containerd://{_digest(meta['uid'], name, restarts)}",
        }},
    }  # fmt: skip


def _container_status(pod: dict[str, Any], b: PodBehaviour, c: dict[str, Any], now: float) -> dict[str, Any]:
    name, image = c["name"], c.get("image", "")
    status: dict[str, Any] = {"name": name, "image": image, "imageID": "", "lastState": {}}
    state = b.state if b.applies_to(name) else "running"
    if state in _TERMINATED:
        status.update(_crash_status(pod, b, name, now))
    elif state == "image_pull":
        waiting = {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
        status.update(restartCount=0, ready=False, started=False, state={"waiting": waiting})
    elif state == "config_error":
        waiting = {"reason": "CreateContainerConfigError", "message": b.message or "configuration error"}
        status.update(restartCount=0, ready=False, started=False, state={"waiting": waiting})
    else:
        restarts = b.restarts(now) if b.applies_to(name) else 0
        running = {"startedAt": rfc3339(b.started + 2)}
        ready = now >= b.started + b.ready_delay_s  # the readiness probe passes after the rollout step
        status.update(restartCount=restarts, ready=ready, started=True, state={"running": running})
    if state not in ("image_pull", "config_error"):
        status["imageID"] = f"{image.split(':')[0]}@sha256:{_digest(image)}"
        status.setdefault("containerID", f"containerd://{_digest(pod['metadata']['uid'], name)}")
    return status


def render_pod(
    pod: dict[str, Any], b: PodBehaviour | None, now: float, growth: tuple[float, float]
) -> dict[str, Any]:
    """The pod as a read returns it at ``now``; ``growth`` is (loaded_at, period) for manifest pods."""
    if b is None:
        return _grow_manifest_pod(pod, now, growth)
    spec, status = pod.get("spec") or {}, dict(pod.get("status") or {})
    containers = [_container_status(pod, b, c, now) for c in spec.get("containers") or []]
    ready = all(c["ready"] for c in containers)
    not_ready = [c["name"] for c in containers if not c["ready"]]
    since = rfc3339(b.started)
    ready_since = rfc3339(b.started + b.ready_delay_s) if ready else since
    conditions = []
    for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
        ok = ready or kind not in ("Ready", "ContainersReady")
        condition = {
            "type": kind,
            "status": "True" if ok else "False",
            "lastProbeTime": None,
            "lastTransitionTime": ready_since if kind in ("Ready", "ContainersReady") else since,
        }
        if not ok:
            condition.update(
                reason="ContainersNotReady",
                message=f"containers with unready status: [{' '.join(not_ready)}]",
            )
        conditions.append(condition)
    pending = any(
        c["state"].get("waiting", {}).get("reason") in ("ImagePullBackOff", "CreateContainerConfigError")
        for c in containers
    )
    status.update(
        phase="Pending" if pending else "Running",
        conditions=conditions,
        containerStatuses=containers,
        qosClass=qos_class(spec),
        startTime=since,
    )
    return {**pod, "status": status}


def _grow_manifest_pod(pod: dict[str, Any], now: float, growth: tuple[float, float]) -> dict[str, Any]:
    loaded_at, period = growth
    extra = max(0, math.floor((now - loaded_at) / period))
    if not extra:
        return pod
    pod = clone(pod)
    for section in ("containerStatuses", "initContainerStatuses"):
        for c in (pod.get("status") or {}).get(section) or []:
            if ((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                c["restartCount"] = int(c.get("restartCount", 0)) + extra
    return pod


def _event(
    pod: dict[str, Any],
    reason: str,
    message: str,
    kind: str = "Normal",
    *,
    container: str | None = None,
    component: str = "kubelet",
) -> dict[str, Any]:
    meta, node = pod["metadata"], (pod.get("spec") or {}).get("nodeName", "")
    involved = {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": meta["name"],
        "namespace": meta["namespace"],
        "uid": meta["uid"],
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if container:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": kind,
        "count": 1,
        "source": {"component": component, **({"host": node} if component == "kubelet" else {})},
        "reportingComponent": component,
        "reportingInstance": node if component == "kubelet" else "",
    }


def _probe_failure(c: dict[str, Any], pod: dict[str, Any]) -> str:
    probe = c.get("livenessProbe") or {}
    ip = (pod.get("status") or {}).get("podIP", "10.244.0.10")
    if "httpGet" in probe:
        return "HTTP probe failed with statuscode: 503"
    if "tcpSocket" in probe:
        return f"dial tcp {ip}:{probe['tcpSocket'].get('port')}: connect: connection refused"
    return "command timed out"


def pod_events(pod: dict[str, Any], b: PodBehaviour) -> list[tuple[dict[str, Any], int]]:
    """The events a new pod's lifecycle produces, each with how many times it repeats per restart."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    node = spec.get("nodeName", "")
    scheduled = _event(
        pod,
        "Scheduled",
        f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
        component="default-scheduler",
    )
    out: list[tuple[dict[str, Any], int]] = [(scheduled, 0)]
    for c in spec.get("containers") or []:
        name, image = c["name"], c.get("image", "")
        state = b.state if b.applies_to(name) else "running"
        repeat = 1 if state in _TERMINATED else 0
        if state == "image_pull":
            failure = (
                b.message or f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}"'
            )
            out += [
                (_event(pod, "Pulling", f'Pulling image "{image}"', container=name), 1),
                (
                    _event(
                        pod, "Failed", f'Failed to pull image "{image}": {failure}', "Warning", container=name
                    ),
                    1,
                ),
                (_event(pod, "Failed", "Error: ErrImagePull", "Warning", container=name), 1),
                (_event(pod, "BackOff", f'Back-off pulling image "{image}"', container=name), 1),
                (_event(pod, "Failed", "Error: ImagePullBackOff", "Warning", container=name), 1),
            ]
            continue
        pulled = f'Container image "{image}" already present on machine'
        out.append((_event(pod, "Pulled", pulled, container=name), repeat))
        if state == "config_error":
            out.append((_event(pod, "Failed", f"Error: {b.message}", "Warning", container=name), 1))
            continue
        out += [
            (_event(pod, "Created", f"Created container {name}", container=name), repeat),
            (_event(pod, "Started", f"Started container {name}", container=name), repeat),
        ]
        if state == "probe_killed":
            detail = b.message or _probe_failure(c, pod)
            out += [
                (_event(pod, "Unhealthy", f"Liveness probe failed: {detail}", "Warning", container=name), 3),
                (
                    _event(
                        pod,
                        "Killing",
                        f"Container {name} failed liveness probe, will be restarted",
                        container=name,
                    ),
                    1,
                ),
            ]
        if state == "oom_killed":
            limit = ((c.get("resources") or {}).get("limits") or {}).get("memory", "0")
            rss_kb = int(parse_quantity(limit) // 1024)
            oom = _event(
                pod,
                "OOMKilling",
                f"Memory cgroup out of memory: Killed process {4000 + len(out)} "
                f"({name}) total-vm:{rss_kb * 2}kB, anon-rss:{rss_kb}kB, file-rss:0kB, shmem-rss:0kB, "
                "UID:1000 pgtables:1024kB oom_score_adj:984",
                "Warning",
                component="kernel-monitor",
            )
            oom["involvedObject"] = {"kind": "Node", "name": node, "uid": node}
            oom["metadata"]["namespace"] = "default"
            oom["source"] = {"component": "kernel-monitor", "host": node}
            out.append((oom, 1))
        if state in _TERMINATED:
            message = (
                f"Back-off restarting failed container {name} in pod {meta['name']}_{meta['namespace']}"
                f"({meta['uid']})"
            )
            out.append((_event(pod, "BackOff", message, "Warning", container=name), 1))
    return out


def render_event(event: dict[str, Any], b: PodBehaviour, per_restart: int, now: float) -> dict[str, Any]:
    """An event whose count and lastTimestamp grow with its pod's restarts."""
    end = min(now, b.deleted) if b.deleted is not None else now
    ticks = max(0, math.floor((end - b.started) / b.restart_period_s))
    occurrences = b.restarts(now) if b.crashing else 1 + ticks
    event = {**event, "count": max(1, per_restart * max(occurrences, 1))}
    event["lastTimestamp"] = rfc3339(b.started + ticks * b.restart_period_s)
    return event


def view(store: ObjectStore, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """An object as reads return it now: pods and growing events are computed from the clock."""
    now = store.clock.time()
    if rtype.kind == "Pod":
        return render_pod(
            obj, store.behaviours.get(obj["metadata"].get("uid", "")), now, store.manifest_growth
        )
    if rtype.kind == "Event":
        growth = store.event_growth.get(store.key(obj))
        if growth is not None:
            return render_event(obj, growth[0], growth[1], now)
    return obj
