"""Shared data of the US3 right-sizing tests: a namespace of workloads, each made for one case, with a
week of backfilled history (``sandbox.history``), and the helpers that start it all.

shop/api        over-provisioned (500m / 512Mi requested, ~150m / ~200Mi used): an ok proposal
shop/web        two containers (app and a log sidecar), both over-provisioned: one proposal, both
shop/worker     OOM-killed three days ago: memory is never lowered
shop/boot       flat, but for start-up peaks of ×4 memory for 4 minutes: the limit stays above them
shop/front      an HPA scales it on CPU at 40 %: the target is recomputed to keep the scale point
shop/edge       an HPA at 20 % of a request that would shrink fourfold: refused (hpa_managed)
shop/late       its only start-up peak (×3 memory) is in the last day: the backtest fails
shop/steady     requests already at p95 × 1.3: no change (hysteresis)
shop/db         a StatefulSet (its pod a manifest), over-provisioned: an ok proposal
shop/young      a StatefulSet created two days ago (history ``since: 2d``): insufficient data
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sandbox import history
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster


def _deployment(
    name: str,
    containers: list[tuple[str, dict[str, Any], dict[str, str]]],
    replicas: int = 2,
) -> str:
    """A Deployment whose pods use the given usage (annotations read by the sandbox's exporter)."""
    annotations = {}
    specs = []
    for container, resources, usage in containers:
        for resource, value in usage.items():
            annotations[f"sandbox.aiops.dev/usage-{resource}.{container}"] = value
        specs.append(
            {"name": container, "image": f"registry.example.com/shop/{name}:1.0", "resources": resources}
        )
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": annotations},
                "spec": {"containers": specs},
            },
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _app(name: str, resources: dict[str, Any], usage: dict[str, str], replicas: int = 2) -> str:
    """A Deployment with one container, ``app``."""
    return _deployment(name, [("app", resources, usage)], replicas)


def _statefulset(name: str, resources: dict[str, Any], usage: dict[str, str], started_ago_s: float) -> str:
    """A one-replica StatefulSet and its pod (the sandbox runs no StatefulSet controller)."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - started_ago_s))
    labels = {"app": name}
    annotations = {f"sandbox.aiops.dev/usage-{k}.app": v for k, v in usage.items()}
    template = {
        "metadata": {"labels": labels, "annotations": annotations},
        "spec": {
            "containers": [
                {"name": "app", "image": f"registry.example.com/shop/{name}:1.0", "resources": resources}
            ]
        },
    }
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"00000000-0000-4000-8000-{name:0>12}"[:36],
            "generation": 1,
        },
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": template,
        },
        "status": {
            "replicas": 1,
            "readyReplicas": 1,
            "currentReplicas": 1,
            "updatedReplicas": 1,
            "observedGeneration": 1,
            "currentRevision": f"{name}-1",
            "updateRevision": f"{name}-1",
        },
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-0",
            "namespace": "shop",
            "creationTimestamp": start,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": name,
                    "uid": sts["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {**template["spec"], "nodeName": "node-1"},
        "status": {
            "phase": "Running",
            "startTime": start,
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": True,
                    "restartCount": 0,
                    "image": "x",
                    "imageID": "",
                    "started": True,
                    "state": {"running": {"startedAt": start}},
                }
            ],
        },
    }
    return yaml.safe_dump(sts, sort_keys=False) + "---\n" + yaml.safe_dump(pod, sort_keys=False)


def _hpa(name: str, target: int) -> str:
    return textwrap.dedent(f"""
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {{name: {name}, namespace: shop}}
        spec:
          scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
          minReplicas: 2
          maxReplicas: 6
          metrics:
            - type: Resource
              resource: {{name: cpu, target: {{type: Utilization, averageUtilization: {target}}}}}
        """)


BIG = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def manifests() -> dict[str, str]:
    """File name → manifests of the scenario (the StatefulSet pods carry start times relative to now)."""
    return {
        "namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
        "nodes.yaml": textwrap.dedent("""
            apiVersion: v1
            kind: Node
            metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}}
            status:
              allocatable: {cpu: '16', memory: 64Gi, pods: '110'}
              capacity: {cpu: '16', memory: 64Gi, pods: '110'}
              conditions: [{type: Ready, status: 'True'}]
            """),
        "api.yaml": _deployment("api", [("app", BIG, {"cpu": "150m", "memory": "200Mi"})]),
        "web.yaml": _deployment(
            "web",
            [
                ("app", BIG, {"cpu": "200m", "memory": "250Mi"}),
                (
                    "logs",
                    {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
                    {"cpu": "20m", "memory": "40Mi"},
                ),
            ],
        ),
        "worker.yaml": _app(
            "worker",
            {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
            {"cpu": "100m", "memory": "150Mi"},
            replicas=1,
        ),
        "boot.yaml": _app(
            "boot",
            {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            {"cpu": "50m", "memory": "100Mi"},
            replicas=1,
        ),
        "front.yaml": _deployment("front", [("app", BIG, {"cpu": "200m", "memory": "200Mi"})])
        + "---\n"
        + _hpa("front", 40),
        "edge.yaml": _deployment(
            "edge",
            [("app", {"requests": {"cpu": "1", "memory": "256Mi"}}, {"cpu": "150m", "memory": "200Mi"})],
        )
        + "---\n"
        + _hpa("edge", 20),
        "steady.yaml": _app(
            "steady",
            {"requests": {"cpu": "200m", "memory": "260Mi"}, "limits": {"memory": "270Mi"}},
            {"cpu": "150m", "memory": "200Mi"},
        ),
        "late.yaml": _app(
            "late",
            {"requests": {"cpu": "300m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            {"cpu": "50m", "memory": "100Mi"},
            replicas=1,
        ),
        "db.yaml": _statefulset("db", BIG, {"cpu": "100m", "memory": "180Mi"}, 0),
        "young.yaml": _statefulset("young", BIG, {"cpu": "100m", "memory": "180Mi"}, 0),
    }


SCENARIO = """
history:
  days: 8
  seed: 5
  workloads:
    shop/api:
      cpu: {daily: 0.2, weekly: 0, noise: 0.02}
      memory: {daily: 0.05, weekly: 0, noise: 0.01}
      spikes: {per_day: 0}
    shop/web:
      cpu: {daily: 0.2, weekly: 0, noise: 0.02}
      memory: {daily: 0.02, weekly: 0, noise: 0.01}
      spikes: {per_day: 0}
    shop/worker:
      cpu: {daily: 0, weekly: 0, noise: 0}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
      oom: {at: 3d, container: app, ramp_minutes: 60}
    shop/boot:
      cpu: {daily: 0, weekly: 0, noise: 0}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
      startup: {minutes: 4, cpu: 4.0, memory: 4.0}
      replaced: [6d, 4d, 2d]
    shop/front:
      cpu: {daily: 0.1, weekly: 0, noise: 0.01}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
    shop/edge:
      cpu: {daily: 0, weekly: 0, noise: 0}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
    shop/steady:
      cpu: {daily: 0, weekly: 0, noise: 0}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
    shop/late:
      cpu: {daily: 0, weekly: 0, noise: 0}
      memory: {daily: 0, weekly: 0, noise: 0}
      spikes: {per_day: 0}
      startup: {minutes: 4, cpu: 1.0, memory: 3.0}
      replaced: [10h]
    shop/db:
      cpu: {daily: 0.1, weekly: 0, noise: 0.01}
      memory: {daily: 0.02, weekly: 0, noise: 0}
      spikes: {per_day: 0}
    shop/young:
      spikes: {per_day: 0}
      since: 2d
"""


@dataclass
class Backfilled:
    cluster: SandboxCluster
    prometheus: BinaryServer
    folder: Path


def write_scenario(folder: Path, edit: Callable[[dict[str, str]], None] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = manifests()
    if edit is not None:
        edit(files)
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    return folder


def start(workdir: Path, edit: Callable[[dict[str, str]], None] | None = None) -> Backfilled:
    """The sandbox with the scenario, a week of history backfilled, and a Prometheus scraping it.

    The caller stops both (``stop``)."""
    folder = write_scenario(workdir / "scenario", edit)
    cluster = SandboxCluster.from_dir(folder).start()
    prometheus = None
    try:
        target = cluster.url.removeprefix("http://")
        result = history.backfill(cluster.store, cluster.scenario, workdir / "prom" / "data", instance=target)
        prometheus = start_prometheus(workdir / "prom", [target], data_dir=result.data_dir)
        wait_for_series(prometheus, 'kube_pod_owner{namespace="shop"}', samples=2, window="30s")
        wait_for_series(
            prometheus, 'container_memory_working_set_bytes{namespace="shop"}', samples=2, window="30s"
        )
    except BaseException:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()
        raise
    return Backfilled(cluster, prometheus, folder)


def stop(backfilled: Backfilled) -> None:
    backfilled.prometheus.stop()
    backfilled.cluster.stop()


# --- builders for the unit tests (no I/O) ---------------------------------------------------------------
MI = 2**20
NOW = 1_000_000_000.0


def figures(days: float = 7.0, **extra: float) -> Any:
    """A container's figures: ~150m and ~200Mi used for ``days``, a backtest that passes."""
    from workers.workflows.rightsizing.model import Figures

    values = {
        "cpu_p50": 0.1, "cpu_p95": 0.15, "cpu_p99": 0.16, "cpu_max": 0.2,
        "memory_p50": 180 * MI, "memory_p95": 200 * MI, "memory_p99": 210 * MI, "memory_max": 220 * MI,
        "fit_cpu_p95": 0.15, "fit_cpu_max": 0.2, "fit_memory_p95": 200 * MI, "fit_memory_max": 220 * MI,
        "check_cpu_max": 0.18, "check_memory_max": 215 * MI,
        "first_seen": NOW - days * 86400, "points": 1000.0, "restarts": 0.0,
    }  # fmt: skip
    values.update(extra)
    return Figures(values)


def workload(current: Any = None, hpas: list[dict[str, Any]] | None = None, **extra: float) -> Any:
    """Deployment shop/api, 2 replicas, one container ``app`` (500m / 512Mi, 1Gi limit by default)."""
    from workers.workflows.rightsizing.model import ContainerUsage, Resources, WorkloadUsage

    current = current or Resources(0.5, None, 512 * MI, 1024 * MI)
    return WorkloadUsage(
        kind="Deployment", namespace="shop", name="api", replicas=2, generation=3, uid="u",
        containers=[ContainerUsage("app", current, {}, figures(**extra), pods=2)], hpas=hpas or [],
    )  # fmt: skip


def analyse(usage: Any, **settings: Any) -> dict[str, Any]:
    """The engine's answer for ``usage`` at ``NOW`` with the given right-sizing settings."""
    from workers.settings import RightsizingSettings, ScalingSettings
    from workers.workflows.rightsizing import analysis

    return analysis.analyse(usage, RightsizingSettings(**settings), ScalingSettings(), NOW)
