"""Which workload a pod belongs to and how its replicas are doing, from owner references and pod status
alone (the reads are covered against the sandbox in tests/integration/pipeline/test_incidents.py)."""

from __future__ import annotations

from typing import Any

from workers.domain import Target
from workers.integrations.kubernetes.workloads import (
    belongs_to,
    controller_of,
    desired_replicas,
    own_workload,
    parent_workload,
    pod_state,
    replica_state,
)


def owned(kind: str, name: str, controller: bool = True) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": controller}]


def pod(name: str, owners: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    ready = status.pop("ready", False)
    waiting = status.pop("waiting", None if ready else "CrashLoopBackOff")
    state = {"waiting": {"reason": waiting, "message": "m"}} if waiting else {"running": {}}
    return {
        "metadata": {"name": name, "namespace": "shop", "ownerReferences": owners or []},
        "spec": {"containers": [{"name": "app", "image": "i"}]},
        "status": {
            "phase": status.pop("phase", "Running"),
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": ready,
                    "restartCount": status.pop("restarts", 7),
                    "state": state,
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
                }
            ],
        },
    }


def test_the_controller_reference_wins_over_other_owners() -> None:
    refs = owned("ConfigMap", "x", controller=False) + owned("ReplicaSet", "web-5d9f")
    assert controller_of({"metadata": {"ownerReferences": refs}}) == ("ReplicaSet", "web-5d9f")
    assert controller_of({"metadata": {"ownerReferences": owned("StatefulSet", "db", False)}}) == (
        "StatefulSet",
        "db",
    )
    assert controller_of({"metadata": {}}) is None


def test_a_pod_without_owner_is_its_own_workload() -> None:
    assert own_workload(pod("debug"), "shop") == Target(kind="Pod", namespace="shop", name="debug")
    assert own_workload(pod("db-0", owned("StatefulSet", "db")), "shop") == Target(
        kind="StatefulSet", namespace="shop", name="db"
    )


def test_replicasets_and_jobs_give_way_to_the_deployment_or_cronjob_that_owns_them() -> None:
    rs = Target(kind="ReplicaSet", namespace="shop", name="web-5d9f")
    assert parent_workload(rs, {"metadata": {"ownerReferences": owned("Deployment", "web")}}) == Target(
        kind="Deployment", namespace="shop", name="web"
    )
    assert parent_workload(rs, {"metadata": {}}) == rs  # a ReplicaSet of its own
    assert parent_workload(rs, None) == rs  # gone or not readable: the walk ends there
    job = Target(kind="Job", namespace="shop", name="report-29000000")
    cron = {"metadata": {"ownerReferences": owned("CronJob", "report")}}
    assert parent_workload(job, cron) == Target(kind="CronJob", namespace="shop", name="report")
    # Only the expected parent kind counts: a Job owned by something else stays the workload.
    assert parent_workload(job, {"metadata": {"ownerReferences": owned("Workflow", "w")}}) == job


def test_pods_belong_to_a_workload_by_their_controller() -> None:
    web = Target(kind="Deployment", namespace="shop", name="web")
    assert belongs_to(pod("web-5d9f-abcde", owned("ReplicaSet", "web-5d9f")), web)
    assert not belongs_to(pod("web-api-7c8d-abcde", owned("ReplicaSet", "web-api-7c8d")), web)
    db = Target(kind="StatefulSet", namespace="shop", name="db")
    assert belongs_to(pod("db-0", owned("StatefulSet", "db")), db)
    assert not belongs_to(pod("db-0", owned("StatefulSet", "db2")), db)
    report = Target(kind="CronJob", namespace="shop", name="report")
    assert belongs_to(pod("report-29000000-x", owned("Job", "report-29000000")), report)
    bare = Target(kind="Pod", namespace="shop", name="debug")
    assert belongs_to(pod("debug"), bare) and not belongs_to(pod("other"), bare)


def test_pod_state_says_why_a_pod_is_not_running() -> None:
    state = pod_state(pod("web-1", restarts=4))
    assert state == {
        "name": "web-1",
        "phase": "Running",
        "ready": False,
        "restarts": 4,
        "waiting": "CrashLoopBackOff",
        "last_terminated": "Error",
        "failing": True,
    }
    assert pod_state(pod("web-2", ready=True))["failing"] is False
    assert pod_state(pod("job-1", phase="Succeeded", waiting=None))["failing"] is False


def test_replica_state_counts_failing_pods_against_the_desired_replicas() -> None:
    web = Target(kind="Deployment", namespace="shop", name="web")
    pods = [pod("web-a"), pod("web-b", ready=True), pod("web-c")]
    state = replica_state(web, {"spec": {"replicas": 5}}, pods)
    assert state["summary"] == "2 of 5 replicas failing"
    assert (state["desired"], state["seen"], state["failing"]) == (5, 3, 2)
    assert [p["name"] for p in state["pods"]] == ["web-a", "web-b", "web-c"]
    bare = Target(kind="Pod", namespace="shop", name="debug")
    assert replica_state(bare, None, [pod("debug")])["summary"] == "1 of 1 replica failing"


def test_desired_replicas_by_kind() -> None:
    assert (
        desired_replicas(Target(kind="StatefulSet", namespace="s", name="db"), {"spec": {"replicas": 3}}, 1)
        == 3
    )
    assert desired_replicas(Target(kind="Deployment", namespace="s", name="w"), {"spec": {}}, 4) == 1
    daemons = {"status": {"desiredNumberScheduled": 6}}
    assert desired_replicas(Target(kind="DaemonSet", namespace="s", name="agent"), daemons, 2) == 6
    # Unreadable owner, a Job or a CronJob: the pods seen.
    assert desired_replicas(Target(kind="Deployment", namespace="s", name="w"), None, 4) == 4
    assert desired_replicas(Target(kind="Job", namespace="s", name="j"), {"spec": {}}, 2) == 2
