"""Generated workloads and their pods: Deployments (with ReplicaSets), StatefulSets, DaemonSets, CronJobs."""

from __future__ import annotations

from sandbox.generate import base, podspecs
from sandbox.generate.base import Builder, Obj
from sandbox.rollouts import HASH_LABEL, REVISION, template_hash
from sandbox.units import rfc3339


def _workload_status(kind: str, replicas: int, pods: list[Obj], revision: str) -> Obj:
    ready = sum(
        1
        for p in pods
        if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
    )
    if kind == "StatefulSet":
        return {
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": len(pods),
            "updatedReplicas": len(pods),
            "availableReplicas": ready,
            "observedGeneration": 1,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
    status = {
        "replicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": 1,
    }
    if kind == "ReplicaSet":
        return {**status, "fullyLabeledReplicas": len(pods)}
    status["updatedReplicas"] = len(pods)
    if replicas - ready > 0:
        status["unavailableReplicas"] = replicas - ready
    return status


def _deployment_conditions(g: Builder, status: Obj, replicas: int, rs_name: str, created: str) -> list[Obj]:
    available = status.get("readyReplicas", 0) >= replicas - replicas * 25 // 100
    now = rfc3339(g.now - 60)
    return [
        {
            "type": "Available",
            "status": "True" if available else "False",
            "lastUpdateTime": now,
            "lastTransitionTime": now if not available else created,
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
        },
        {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": now,
            "lastTransitionTime": created,
            "reason": "NewReplicaSetAvailable",
            "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
        },
    ]


def deployment(
    g: Builder, ns: str, app: str, replicas: int, state: str, secrets: list[str]
) -> tuple[Obj, list[Obj]]:
    labels = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns}
    template = podspecs.template(g, ns, app, {"app": app}, secrets)
    created = g.ago(86400 * 3, 86400 * 200)
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": base.meta(app, ns, g, created, labels=labels, annotations={REVISION: "1"}, generation=1),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": template},
    }
    pod_hash = template_hash(template)
    rs_template = {
        "metadata": {"labels": {**template["metadata"]["labels"], HASH_LABEL: pod_hash}},
        "spec": template["spec"],
    }
    rs_name = f"{app}-{pod_hash}"
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": base.meta(
            rs_name,
            ns,
            g,
            created,
            labels=rs_template["metadata"]["labels"],
            generation=1,
            annotations={
                REVISION: "1",
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + 1),
            },
            ownerReferences=[base.owner(dep)],
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app, HASH_LABEL: pod_hash}},
            "template": rs_template,
        },
    }
    g.add(dep)
    g.add(rs)
    pods = []
    for _ in range(replicas):
        node = podspecs.place(g)
        pod_state = podspecs.pod_state(g, state, node)
        pods.append(
            podspecs.pod(
                g,
                f"{rs_name}-{g.suffix()}",
                ns,
                rs_template,
                rs,
                pod_state,
                None if pod_state == "pending" else node,
            )
        )
    rs["status"] = _workload_status("ReplicaSet", replicas, pods, "")
    status = _workload_status("Deployment", replicas, pods, "")
    status["conditions"] = _deployment_conditions(g, status, replicas, rs_name, created)
    dep["status"] = status
    return dep, pods


def statefulset(g: Builder, ns: str, app: str, replicas: int, secrets: list[str]) -> Obj:
    template = podspecs.template(g, ns, app, {"app": app}, secrets)
    revision = f"{app}-{g.suffix(10)}"
    sts = g.add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": base.meta(
                app, ns, g, g.ago(86400 * 3, 86400 * 200), labels={"app": app}, generation=1
            ),
            "spec": {
                "replicas": replicas,
                "serviceName": app,
                "selector": {"matchLabels": {"app": app}},
                "template": template,
            },
        }
    )
    pods = []
    for i in range(replicas):
        node = podspecs.place(g)
        state = podspecs.pod_state(g, "running", node)
        extra = {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": f"{app}-{i}"}
        pods.append(
            podspecs.pod(
                g, f"{app}-{i}", ns, template, sts, state, None if state == "pending" else node, extra
            )
        )
    sts["status"] = _workload_status("StatefulSet", replicas, pods, revision)
    return sts


_DAEMONS = (
    ("kube-proxy", "registry.k8s.io/kube-proxy:v1.30.4"),
    ("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2"),
    ("fluent-bit", "docker.io/fluent/fluent-bit:latest"),
)


def daemonsets(g: Builder, count: int) -> int:
    made = 0
    for name, image in _DAEMONS[:count]:
        container = {
            "name": name,
            "image": image,
            "securityContext": {"privileged": True},
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
            "volumeMounts": [{"name": "host-root", "mountPath": "/host", "readOnly": True}],
        }
        template = {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "containers": [container],
                "hostNetwork": True,
                "hostPID": name == "node-exporter",
                "serviceAccountName": name,
                "tolerations": [{"operator": "Exists"}],
                "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            },
        }
        ds = g.add(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": base.meta(
                    name,
                    "kube-system",
                    g,
                    g.ago(86400 * 100, 86400 * 300),
                    labels={"app": name},
                    generation=1,
                ),
                "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
            }
        )
        g.add(service_account(g, "kube-system", name))
        revision = g.suffix(10)
        ready = 0
        for node in g.nodes:
            state = podspecs.pod_state(g, "running", node)
            state = "running" if state in ("pending", "image_pull") else state
            pod = podspecs.pod(
                g,
                f"{name}-{g.suffix()}",
                "kube-system",
                template,
                ds,
                state,
                node,
                {"controller-revision-hash": revision, "pod-template-generation": "1"},
            )
            ready += all(c["ready"] for c in pod["status"]["containerStatuses"])
            made += 1
        total = len(g.nodes)
        ds["status"] = {
            "currentNumberScheduled": total,
            "desiredNumberScheduled": total,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": total,
            "observedGeneration": 1,
        }
        if total - ready:
            ds["status"]["numberUnavailable"] = total - ready
    return made


def cronjob(g: Builder, ns: str, app: str, secrets: list[str]) -> int:
    template = podspecs.template(g, ns, app, {"app": app}, secrets)
    template["spec"]["restartPolicy"] = "OnFailure"
    cron = g.add(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": base.meta(
                app, ns, g, g.ago(86400 * 10, 86400 * 100), labels={"app": app}, generation=1
            ),
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}},
        }
    )
    started = g.now - g.rng.uniform(60, 3500)
    job_name = f"{app}-{int(started // 60)}"
    job = g.add(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": base.meta(
                job_name,
                ns,
                g,
                rfc3339(started),
                labels={"app": app},
                generation=1,
                ownerReferences=[base.owner(cron)],
            ),
            "spec": {"template": template, "backoffLimit": 6, "completions": 1, "parallelism": 1},
        }
    )
    job["spec"]["template"] = {
        **template,
        "metadata": {"labels": {**template["metadata"]["labels"], "job-name": job_name}},
    }
    job["status"] = {
        "succeeded": 1,
        "startTime": rfc3339(started),
        "completionTime": rfc3339(started + 45),
        "conditions": [
            {
                "type": "Complete",
                "status": "True",
                "lastProbeTime": rfc3339(started + 45),
                "lastTransitionTime": rfc3339(started + 45),
            }
        ],
    }
    cron["status"] = {"lastScheduleTime": rfc3339(started), "lastSuccessfulTime": rfc3339(started + 45)}
    podspecs.pod(
        g, f"{job_name}-{g.suffix()}", ns, job["spec"]["template"], job, "completed", podspecs.place(g)
    )
    return 1


def service_account(g: Builder, ns: str, name: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": base.meta(name, ns, g, g.ago(86400, 86400 * 300)),
    }
