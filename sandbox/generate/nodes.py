"""Generated nodes (some NotReady, under pressure or cordoned; kubelets skewed), namespaces, metrics API."""

from __future__ import annotations

from sandbox.generate import base
from sandbox.generate.base import Builder, Obj
from sandbox.units import rfc3339

KUBELETS = ("v1.30.4",) * 14 + ("v1.30.2",) * 3 + ("v1.29.8",) * 2 + ("v1.28.12",)


def _condition(kind: str, status: str, reason: str, message: str, since: str, beat: str) -> Obj:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastHeartbeatTime": beat,
        "lastTransitionTime": since,
    }


def node(g: Builder, i: int) -> Obj:
    name = f"node-{i:04d}"
    cpu, memory = g.rng.choice(((8, 32), (16, 64), (16, 64), (32, 128)))
    created = g.ago(86400 * 2, 86400 * 400)
    beat = rfc3339(g.now - 20)
    roll = g.rng.random()
    if 1 < i < g.size.nodes:  # the first node stays Ready; the next ones show one problem each
        roll = 0.0 if g.first("node-not-ready") else 0.015 if g.first("node-unknown") else roll
    ready = ("True", "KubeletReady", "kubelet is posting ready status")
    if roll < 0.01:
        ready = ("False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false")
    elif roll < 0.02:
        ready = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    pressure = {
        kind: g.rng.random() < p
        for kind, p in (("MemoryPressure", 0.02), ("DiskPressure", 0.01), ("PIDPressure", 0.005))
    }
    special = 1 < i < g.size.nodes and ready[0] == "True"
    if special and g.first("node-memory-pressure"):
        pressure["MemoryPressure"] = True
    texts = {
        "MemoryPressure": (
            "KubeletHasInsufficientMemory",
            "kubelet has insufficient memory available",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        "DiskPressure": (
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        "PIDPressure": (
            "KubeletHasInsufficientPID",
            "kubelet has insufficient PID available",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
    }
    since = g.ago(600, 86400)
    conditions = [
        _condition(
            kind,
            "True" if on else "False",
            texts[kind][0 if on else 2],
            texts[kind][1 if on else 3],
            since if on else created,
            beat,
        )
        for kind, on in pressure.items()
    ]
    conditions.append(_condition("Ready", *ready, since if ready[0] != "True" else created, beat))
    taints = []
    if ready[0] == "False":
        taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
    elif ready[0] == "Unknown":
        taints.append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"})
    cordoned = g.rng.random() < 0.01 or (special and not any(pressure.values()) and g.first("node-cordoned"))
    if cordoned:
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    kubelet = KUBELETS[-1] if special and g.first("node-old-kubelet") else g.rng.choice(KUBELETS)
    zone = f"eu-west-1{'abc'[i % 3]}"
    spec: Obj = {
        "podCIDR": f"10.{32 + i // 250}.{i % 250}.0/24",
        "providerID": f"aws:///{zone}/i-{g.suffix(12)}",
    }
    if taints:
        spec["taints"] = taints
    if cordoned:
        spec["unschedulable"] = True
    address = f"10.0.{i // 250}.{i % 250 + 10}"
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": base.meta(
            name,
            None,
            g,
            created,
            labels={
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "node.kubernetes.io/instance-type": f"m6i.{cpu // 4}xlarge",
            },
        ),
        "spec": spec,
        "status": {
            "capacity": {
                "cpu": str(cpu),
                "memory": f"{memory}Gi",
                "pods": "110",
                "ephemeral-storage": "100Gi",
            },
            "allocatable": {
                "cpu": f"{cpu * 1000 - 200}m",
                "memory": f"{memory - 1}Gi",
                "pods": "110",
                "ephemeral-storage": "95Gi",
            },
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": g.uid(),
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": "6.1.0-27-amd64",
                "kubeProxyVersion": kubelet,
                "kubeletVersion": kubelet,
                "machineID": g.suffix(32),
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": g.uid(),
            },
        },
    }
    return g.add(node)


def schedulable(node: Obj) -> bool:
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    return ready and not node["spec"].get("unschedulable")


def namespace(g: Builder, name: str) -> Obj:
    labels = {"team": name.split("-", 1)[0]}
    level = g.rng.choice(("restricted", "baseline", "baseline", "privileged", None, None))
    if level:
        labels["pod-security.kubernetes.io/enforce"] = level
    return g.add(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": base.meta(name, None, g, g.ago(86400 * 30, 86400 * 300), labels=labels),
        }
    )


def metrics_apiservice(g: Builder) -> None:
    g.add(
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": base.meta(
                "v1beta1.metrics.k8s.io",
                None,
                g,
                g.ago(86400 * 100, 86400 * 300),
                labels={"k8s-app": "metrics-server"},
            ),
            "spec": {
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
                "insecureSkipTLSVerify": True,
                "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443},
            },
            "status": {
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "Passed",
                        "message": "all checks passed",
                        "lastTransitionTime": g.ago(3600, 86400),
                    }
                ]
            },
        }
    )
