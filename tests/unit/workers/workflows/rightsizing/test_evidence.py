"""Pods' figures go to their workloads (through ReplicaSets), aggregated over the pods."""

from __future__ import annotations

from workers.workflows.rightsizing import evidence
from workers.workflows.rightsizing.model import ContainerUsage, Resources, WorkloadUsage


def series(value: float, **labels: str) -> dict[str, object]:
    return {"metric": labels, "value": [0, str(value)]}


def usage(kind: str, name: str) -> WorkloadUsage:
    return WorkloadUsage(kind, "shop", name, 2, 1, "u", [ContainerUsage("app", Resources(), {})])


def test_figures_are_aggregated_per_workload_container() -> None:
    api, db = usage("Deployment", "api"), usage("StatefulSet", "db")
    results = {
        "pod_owner": [
            series(1, pod="api-1", owner_kind="ReplicaSet", owner_name="api-7d"),
            series(1, pod="api-2", owner_kind="ReplicaSet", owner_name="api-6c"),
            series(1, pod="db-0", owner_kind="StatefulSet", owner_name="db"),
        ],
        "replicaset_owner": [
            series(1, replicaset="api-7d", owner_kind="Deployment", owner_name="api"),
            series(1, replicaset="api-6c", owner_kind="Deployment", owner_name="api"),
        ],
        "cpu_p95": [series(0.2, pod="api-1", container="app"), series(0.3, pod="api-2", container="app"),
                    series(0.1, pod="db-0", container="app"), series(9, pod="other", container="app")],
        "first_seen": [series(50, pod="api-1", container="app"), series(10, pod="api-2", container="app")],
        "restarts": [series(1, pod="api-1", container="app"), series(2, pod="api-2", container="app")],
        "memory_p95": [series(float("nan"), pod="api-1", container="app")],
    }  # fmt: skip
    evidence.attribute(results, [api, db])
    figures = api.containers[0].figures.values
    assert figures == {"cpu_p95": 0.3, "first_seen": 10, "restarts": 3}, "max, min and sum"
    assert api.containers[0].pods == 2
    assert db.containers[0].figures.values == {"cpu_p95": 0.1}


def test_resources_and_replicas_of_a_workload() -> None:
    res = evidence.resources_of(
        {"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": 1}}}
    )
    assert res == Resources(cpu_request=0.25, cpu_limit=1.0, memory_request=float(2**30), memory_limit=None)
    assert evidence.replicas_of({"kind": "DaemonSet", "status": {"desiredNumberScheduled": 5}}) == 5
    assert evidence.replicas_of({"kind": "Deployment", "spec": {"replicas": 3}}) == 3
