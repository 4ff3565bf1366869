"""Post-action checks for Deployments, StatefulSets and DaemonSets: rollout complete per kind, pods Ready
within a deadline, no restarts, no OOM kill. The cluster is a dict of objects."""

from __future__ import annotations

from typing import Any

import pytest

from workers.spine import validation


class Cluster:
    def __init__(self, workload: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        self.workload, self.pods = workload, pods

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self.workload

    def get_workload(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        return self.workload

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return self.pods


def workload(kind: str, status: dict[str, Any], replicas: int = 2) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"generation": 3},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "x"}}},
        "status": {"observedGeneration": 3, **status},
    }


def pod(ready: bool = True, restarts: int = 0, last: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"name": "app", "restartCount": restarts}
    if last:
        status["lastState"] = {"terminated": {"reason": last}}
    return {
        "metadata": {"name": f"p-{restarts}-{ready}"},
        "status": {"conditions": [{"type": "Ready", "status": str(ready)}], "containerStatuses": [status]},
    }


ROLLED = {"readyReplicas": 2, "updatedReplicas": 2}


@pytest.mark.parametrize(
    ("kind", "status", "complete"),
    [
        ("Deployment", {"readyReplicas": 2, "updatedReplicas": 2}, True),
        ("Deployment", {"readyReplicas": 2, "updatedReplicas": 1}, False),
        ("StatefulSet", {**ROLLED, "currentRevision": "a", "updateRevision": "a"}, True),
        ("StatefulSet", {**ROLLED, "currentRevision": "a", "updateRevision": "b"}, False),
        ("DaemonSet", {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3}, True),
        ("DaemonSet", {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 2}, False),
        ("DaemonSet", {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 3,
                       "observedGeneration": 2}, False),
    ],
)  # fmt: skip
def test_rollout_complete_per_kind(kind: str, status: dict[str, Any], complete: bool) -> None:
    assert validation.rollout_complete(workload(kind, status), kind)[0] is complete


def test_both_workload_forms_are_read() -> None:
    cluster = Cluster(workload("StatefulSet", {"readyReplicas": 2, "updatedReplicas": 2}), [pod()])
    assert validation.check_target_ready(cluster, {"namespace": "s", "kind": "StatefulSet", "name": "db"})[
        "ok"
    ]  # type: ignore[arg-type]
    old_form = Cluster(workload("Deployment", {"readyReplicas": 2, "updatedReplicas": 2}), [pod()])
    assert validation.check_target_ready(old_form, {"namespace": "s", "deployment": "api"})["ok"]  # type: ignore[arg-type]


def test_pods_ready_waits_until_its_deadline() -> None:
    ref = {"namespace": "s", "kind": "Deployment", "name": "api"}
    state: dict[str, Any] = {}
    slow = Cluster(
        workload("Deployment", {"readyReplicas": 1, "updatedReplicas": 2}), [pod(), pod(ready=False)]
    )
    first = validation.check_pods_ready(slow, ref, 300, state, now=1000.0)  # type: ignore[arg-type]
    assert first["ok"] is None and "within 300s" in first["detail"]
    late = validation.check_pods_ready(slow, ref, 300, state, now=1300.0)  # type: ignore[arg-type]
    assert late["ok"] is False and "after 300s" in late["detail"]
    done = Cluster(workload("Deployment", {"readyReplicas": 2, "updatedReplicas": 2}), [pod(), pod()])
    assert validation.check_pods_ready(done, ref, 300, state, now=1400.0)["ok"] is True  # type: ignore[arg-type]


def test_restarts_and_oom_kills_fail_their_checks() -> None:
    ref = {"namespace": "s", "kind": "DaemonSet", "name": "agent"}
    calm = Cluster(workload("DaemonSet", {}), [pod(), pod()])
    assert validation.check_no_restarts(calm, ref)["ok"] and validation.check_no_oom_kills(calm, ref)["ok"]  # type: ignore[arg-type]
    crashed = Cluster(workload("DaemonSet", {}), [pod(restarts=1, last="OOMKilled")])
    assert validation.check_no_restarts(crashed, ref)["ok"] is False  # type: ignore[arg-type]
    oom = validation.check_no_oom_kills(crashed, ref)  # type: ignore[arg-type]
    assert oom["ok"] is False and oom["detail"] == "OOMKilled: p-1-True/app"


def test_run_checks_dispatches_the_new_checks() -> None:
    cluster = Cluster(workload("Deployment", {"readyReplicas": 1, "updatedReplicas": 1}, replicas=1), [pod()])
    plan = {
        "workload": {"namespace": "s", "kind": "Deployment", "name": "api"},
        "checks": [{"kubernetes": "pods_ready", "within_s": 60}, {"kubernetes": "no_restarts"},
                   {"kubernetes": "no_oom_kills"}],
    }  # fmt: skip
    results = validation.run_checks(cluster, None, plan, {})  # type: ignore[arg-type]
    assert [r["name"] for r in results] == ["pods_ready", "no_restarts", "no_oom_kills"]
    assert validation.verdict(results) is True
