"""Generated pod templates and pods: images, securityContexts, env (secrets too) and realistic statuses."""

from __future__ import annotations

from sandbox.generate import base, nodes
from sandbox.generate.base import Builder, Obj
from sandbox.podstatus import qos_class
from sandbox.units import rfc3339

_REGISTRIES = (
    "registry.example.com",
    "ghcr.io/acme",
    "quay.io/acme",
    "docker.io/library",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "gcr.io/acme-prod",
)


_CPU = ("50m", "100m", "100m", "200m", "250m", "500m", "500m", "1")
_MEMORY = ("64Mi", "128Mi", "128Mi", "256Mi", "256Mi", "512Mi", "1Gi", "2Gi")
_SECURITY = (
    ("restricted", 0.5),
    ("privileged", 0.53),
    ("host-network", 0.55),
    ("host-pid", 0.56),
    ("host-path", 0.59),
    ("capabilities", 0.61),
    ("host-port", 0.62),
    ("run-as-root", 0.64),
)
"""Bands of ``_security``'s roll: restricted pods, then each way of breaking the baseline level."""


def _image(g: Builder, app: str) -> str:
    registry = g.rng.choice(_REGISTRIES)
    roll = g.roll((("image-latest", 0.05), ("image-untagged", 0.08), ("image-digest", 0.18)))
    if roll < 0.05:
        return f"{registry}/{app}:latest"
    if roll < 0.08:
        return f"{registry}/{app}"
    if roll < 0.18:
        return f"{registry}/{app}@sha256:{g.rng.getrandbits(256):064x}"
    return f"{registry}/{app}:{g.rng.randint(1, 4)}.{g.rng.randint(0, 20)}.{g.rng.randint(0, 9)}"


def _security(g: Builder, spec: Obj, container: Obj) -> None:
    """A securityContext mix: restricted, none (baseline), and each way of being privileged."""
    roll = g.roll(_SECURITY)
    if roll < 0.5:
        spec["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        container["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        }
    elif roll < 0.53:
        container["securityContext"] = {"privileged": True}
    elif roll < 0.55:
        spec["hostNetwork"] = True
    elif roll < 0.56:
        spec["hostPID"] = True
    elif roll < 0.59:
        spec["volumes"] = [{"name": "host-logs", "hostPath": {"path": "/var/log", "type": "Directory"}}]
        container["volumeMounts"] = [{"name": "host-logs", "mountPath": "/host/var/log", "readOnly": True}]
    elif roll < 0.61:
        container["securityContext"] = {"capabilities": {"add": [g.rng.choice(("NET_ADMIN", "SYS_ADMIN"))]}}
    elif roll < 0.62:
        container.setdefault("ports", [{"containerPort": 8080, "name": "http"}])[0]["hostPort"] = 8080
    elif roll < 0.64:
        container["securityContext"] = {"runAsUser": 0, "allowPrivilegeEscalation": True}


def _env(g: Builder, namespace: str, app: str, secrets: list[str]) -> list[Obj]:
    env: list[Obj] = [{"name": "LOG_LEVEL", "value": g.rng.choice(("info", "debug", "warn"))}]
    roll = g.roll(
        (("env-secret", 0.2), ("env-missing-secret", 0.21), ("env-password", 0.24), ("env-aws-key", 0.25))
    )
    if roll < 0.2 and secrets:
        env.append(
            {
                "name": "DB_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": g.rng.choice(secrets), "key": "password"}},
            }
        )
    elif roll < 0.21:
        env.append(
            {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": f"{app}-missing", "key": "token"}}}
        )
    elif roll < 0.24:
        env.append({"name": "DB_PASSWORD", "value": base.FAKE_PASSWORD})
    elif roll < 0.25:
        env.append({"name": "AWS_ACCESS_KEY_ID", "value": base.FAKE_AWS_KEY})
    env.append({"name": "SERVICE_NAME", "value": f"{namespace}/{app}"})
    return env


def template(g: Builder, namespace: str, app: str, labels: Obj, secrets: list[str]) -> Obj:
    cpu, memory = g.rng.choice(_CPU), g.rng.choice(_MEMORY)
    container: Obj = {
        "name": "app",
        "image": _image(g, app.rsplit("-", 1)[0]),
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": _env(g, namespace, app, secrets),
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
    }
    if g.rng.random() < 0.05:
        container["resources"] = {}
    elif g.rng.random() < 0.1:
        container["envFrom"] = [{"secretRef": {"name": secrets[0]}}] if secrets else []
    spec: Obj = {"containers": [container], "serviceAccountName": app if g.rng.random() < 0.4 else "default"}
    if g.rng.random() < 0.3:
        spec["automountServiceAccountToken"] = False
    _security(g, spec, container)
    if g.rng.random() < 0.15:
        spec["containers"].append(
            {
                "name": "log-shipper",
                "image": "docker.io/fluent/fluent-bit:3.1.4",
                "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}},
            }
        )
    return {"metadata": {"labels": labels}, "spec": spec}


def _container_status(g: Builder, c: Obj, state: str, started: float, pod_uid: str) -> Obj:
    image = c["image"]
    status: Obj = {
        "name": c["name"],
        "image": image,
        "imageID": "",
        "restartCount": 0,
        "ready": True,
        "started": True,
        "lastState": {},
    }
    if state == "image_pull":
        status.update(
            ready=False,
            started=False,
            state={"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}},
        )
        return status
    status["imageID"] = f"{image.split('@')[0].rsplit(':', 1)[0]}@sha256:{g.rng.getrandbits(256):064x}"
    status["containerID"] = f"containerd://{g.rng.getrandbits(256):064x}"
    if state in ("crashloop", "oom"):
        restarts = g.rng.randint(5, 60)
        code, reason = (137, "OOMKilled") if state == "oom" else (1, "Error")
        finished = g.now - g.rng.uniform(10, 280)
        status.update(
            ready=False,
            started=False,
            restartCount=restarts,
            state={
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={c['name']} pod={pod_uid}",
                }
            },
            lastState={
                "terminated": {
                    "exitCode": code,
                    "reason": reason,
                    "startedAt": rfc3339(finished - 5),
                    "finishedAt": rfc3339(finished),
                    "containerID": status["containerID"],
                }
            },
        )
        return status
    if state == "completed":
        status.update(
            ready=False,
            started=False,
            state={
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": rfc3339(started + 2),
                    "finishedAt": rfc3339(started + 40),
                    "containerID": status["containerID"],
                }
            },
        )
        return status
    if state == "restarted_oom":
        finished = started + g.rng.uniform(600, 3600)
        status["restartCount"] = g.rng.randint(1, 4)
        status["lastState"] = {
            "terminated": {
                "exitCode": 137,
                "reason": "OOMKilled",
                "startedAt": rfc3339(started + 2),
                "finishedAt": rfc3339(finished),
                "containerID": f"containerd://{g.rng.getrandbits(256):064x}",
            }
        }
        started = finished
    status["state"] = {"running": {"startedAt": rfc3339(started + 2)}}
    status["ready"] = state != "unready"
    return status


def pod(
    g: Builder,
    name: str,
    namespace: str,
    template: Obj,
    owner: Obj,
    state: str,
    node: Obj | None,
    extra_labels: Obj | None = None,
) -> Obj:
    started = (
        g.now - g.rng.uniform(3600, 86400 * 20) if state != "pending" else g.now - g.rng.uniform(900, 7200)
    )
    uid = g.uid()
    spec = (
        {**template["spec"], "nodeName": node["metadata"]["name"]}
        if node is not None
        else dict(template["spec"])
    )
    labels = {**template["metadata"]["labels"], **(extra_labels or {})}
    meta = base.meta(name, namespace, g, rfc3339(started), labels=labels, ownerReferences=[base.owner(owner)])
    since = rfc3339(started)
    if state == "pending":
        total = g.size.nodes
        message = (
            f"0/{total} nodes are available: {total} Insufficient cpu. preemption: 0/{total} nodes are "
            f"available: {total} No preemption victims found for incoming pod."
        )
        status: Obj = {
            "phase": "Pending",
            "qosClass": qos_class(spec),
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": message,
                    "lastTransitionTime": since,
                }
            ],
        }
        return g.add({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})
    assert node is not None
    containers = [
        _container_status(g, c, state if c["name"] == "app" else "running", started, uid)
        for c in spec["containers"]
    ]
    ready = all(c["ready"] for c in containers)
    not_ready = [c["name"] for c in containers if not c["ready"]]
    phase = {"image_pull": "Pending", "completed": "Succeeded"}.get(state, "Running")
    conditions = []
    for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
        ok = ready or kind not in ("Ready", "ContainersReady")
        condition: Obj = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": since}
        if not ok:
            reason = "PodCompleted" if state == "completed" else "ContainersNotReady"
            condition.update(
                reason=reason, message=f"containers with unready status: [{' '.join(not_ready)}]"
            )
        conditions.append(condition)
    host = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    ip = host if spec.get("hostNetwork") else g.pod_ip()
    status = {
        "phase": phase,
        "hostIP": host,
        "hostIPs": [{"ip": host}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": since,
        "qosClass": qos_class(spec),
        "conditions": conditions,
        "containerStatuses": containers,
    }
    meta["uid"] = uid
    return g.add({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})


def pod_state(g: Builder, workload_state: str, node: Obj | None) -> str:
    if workload_state != "running":
        return workload_state
    if (
        node is not None
        and next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] != "True"
    ):
        return "unready"
    for forced in ("oom", "restarted_oom", "image_pull", "pending"):
        if g.first(f"pod-{forced}"):
            return forced
    roll = g.rng.random()
    if roll < 0.004:
        return "oom"
    if roll < 0.01:
        return "restarted_oom"
    if roll < 0.013:
        return "image_pull"
    if roll < 0.02:
        return "pending"
    return "running"


def place(g: Builder) -> Obj:
    schedulable = [n for n in g.nodes if nodes.schedulable(n)]
    return g.rng.choice(schedulable or g.nodes)
