"""Week over week: two scheduled runs a week apart on a cluster that changed in between."""

from __future__ import annotations

import datetime as dt

from kubernetes import client

from tests.support.reports import Env
from workers.spine.reports import ReportStore, run_report


def test_second_run_names_new_and_resolved_findings_and_moved_figures(env: Env) -> None:
    first = run_report(env.context, "health")
    cordoned = [str(f.name) for f in first.findings() if f.check == "nodes.unschedulable"]
    assert len(cordoned) == 1
    flagged = {str(f.name) for f in first.findings() if f.kind == "Node"}
    names = {node["metadata"]["name"] for node in env.cluster.list("Node")}
    healthy = sorted(names - flagged)
    assert healthy, "the generated cluster has nodes without findings"

    with env.cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.patch_node(cordoned[0], {"spec": {"unschedulable": False}})  # maintenance over
        core.patch_node(healthy[0], {"spec": {"unschedulable": True}})  # a new one starts
    env.clock.now += dt.timedelta(days=7)
    second = run_report(env.context, "health")

    assert second.id == "health-20261207T000000Z"
    changes = second.changes
    assert changes["previous_id"] == first.id
    new = {(item["check"], item["key"].split("/")[-1]) for item in changes["new_findings"]}
    resolved = {(item["check"], item["key"].split("/")[-1]) for item in changes["resolved_findings"]}
    assert ("nodes.unschedulable", healthy[0]) in new
    assert ("nodes.unschedulable", cordoned[0]) in resolved
    assert ("nodes.unschedulable", cordoned[0]) not in new
    assert changes["still_open"] > 0
    # One node fewer usable, one more: the cluster's allocatable changed, so did the requests' share.
    capacity = changes["capacity"]
    assert set(capacity) <= {
        "cpu_requests_pct",
        "memory_requests_pct",
        "cpu_limits_pct",
        "memory_limits_pct",
    }
    assert changes["score"]["before"] == first.score and changes["score"]["after"] == second.score

    store = ReportStore(env.context.redis, env.clock, env.context.settings.reports)
    assert [item["id"] for item in store.list(kind="health")] == [second.id, first.id]
    before_second = store.previous("health", env.clock.now)  # strictly before: a retried run is not its own
    after_second = store.previous("health", env.clock.now + dt.timedelta(seconds=1))
    assert before_second is not None and before_second.id == first.id
    assert after_second is not None and after_second.id == second.id
    markdown = env.client.get(
        f"/api/v1/reports/{second.id}?format=md",
        headers={"Authorization": "Bearer viewer-token-0123456789"},
    ).get_data(as_text=True)
    assert (
        f"Compared with {first.id}." in markdown and f"resolved: node {cordoned[0]} is cordoned" in markdown
    )
