"""US3 through the whole responder: ``POST /api/v1/rightsizing`` → a job analyses the namespace on a
week of backfilled history → one ``patch-resources`` proposal per workload whose recommendation is ok
→ approve over HTTP → rolling update on the sandbox → validated; and the API's refusals.

Real parts: the sandbox over HTTP (its Deployment controller rolls the new template out), a real
Prometheus with the backfilled history scraping the sandbox, a real Redis and RQ workers, the receiver
app. The watch window is shortened through the settings (``rightsizing.watch_window_s``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from receiver.app import create_app
from receiver.auth import TokenBook
from rules.registry import RuleRegistry
from tests.support import rightsizing
from tests.support.pipeline import TOKENS, Pipeline, auth, fast_rules
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.context import Context

FINAL = {"validated", "regressed", "failed", "unknown"}


@pytest.fixture
def pipeline(tmp_path: Path, redis_conn: Any, redis_server: Any) -> Iterator[Callable[..., Pipeline]]:
    started: list[rightsizing.Backfilled] = []

    def start() -> Pipeline:
        backfilled = rightsizing.start(tmp_path)
        started.append(backfilled)
        rules_dir = fast_rules(tmp_path / "rules")
        settings = Settings.model_validate(
            {
                "redis": {"url": redis_server.url},
                "prometheus": {"url": backfilled.prometheus.url, "timeout_s": 30},
                "rules": {"dir": str(rules_dir)},
                "notify": {"sinks": [{"type": "log"}]},
                "rightsizing": {"watch_window_s": 4, "validate_after_s": 1, "ready_within_s": 60},
            }
        )
        cluster = backfilled.cluster
        context = Context(
            settings=settings,
            redis=redis_conn,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(cluster.api_client()),
        )
        tokens = TokenBook([{"name": f"{role}-user", "role": role, "token": t} for role, t in TOKENS.items()])
        return Pipeline(
            cluster=cluster,
            prometheus=backfilled.prometheus,
            context=context,
            app=create_app(context, tokens),
        )

    yield start
    for backfilled in started:
        rightsizing.stop(backfilled)


def _post(pipeline: Pipeline, body: Any, role: str = "approver") -> Any:
    return pipeline.client.post("/api/v1/rightsizing", json=body, headers=auth(role))


def _by_workload(pipeline: Pipeline) -> dict[str, Any]:
    return {p.diagnosis["workload"]["name"]: p for p in pipeline.proposals()}


def test_post_to_validated_rolling_update(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    answer = _post(started, {"namespace": "shop", "workload": "Deployment/api"})
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["namespace"] == "shop" and body["workload"] == "Deployment/api"
    assert body["requested_by"] == "approver-user" and body["enqueued"]["job_id"]
    (proposal,) = started.work(until=lambda: started.proposals("pending"), timeout=120)
    assert proposal.playbook == "rightsizing" and proposal.rule == "api:rightsizing"
    assert proposal.risk == "medium" and proposal.approval == "required"
    assert proposal.target == {"kind": "Deployment", "namespace": "shop", "name": "api"}
    action = proposal.action
    assert action["type"] == "patch-resources"
    (container,) = proposal.diagnosis["rightsizing"]["containers"]
    new = container["recommended"]
    assert action["params"]["containers"] == {
        "app": {
            "requests": {"cpu": new["cpu_request"], "memory": new["memory_request"]},
            "limits": {"cpu": None, "memory": new["memory_limit"]},
        }
    }
    plan = action["plan"]
    assert plan["kind"] == "Deployment" and plan["patch_type"] == "json"
    assert plan["patch"] == [
        {"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "app"},
        {
            "op": "replace",
            "path": "/spec/template/spec/containers/0/resources",
            "value": {
                "requests": {"cpu": new["cpu_request"], "memory": new["memory_request"]},
                "limits": {"memory": new["memory_limit"]},
            },
        },
    ]
    assert set(plan["guard"]) == {"uid", "generation"}
    shown = started.client.get(f"/api/v1/approvals/{proposal.id}", headers=auth("viewer")).get_json()
    assert shown["action"]["plan"] == plan and shown["diagnosis"]["rightsizing"]["savings"]["monthly"] > 0
    approved = started.client.post(
        f"/api/v1/approvals/{proposal.id}/approve", json={"comment": "resize"}, headers=auth("approver")
    )
    assert approved.status_code == 200

    def final() -> Any:
        found = started.context.proposals.get(proposal.id)
        return found if found.status in FINAL else None

    done = started.work(until=final, timeout=240)
    assert done.status == "validated", done.validation
    apps = client.AppsV1Api(started.cluster.api_client())
    template = apps.read_namespaced_deployment("api", "shop").spec.template.spec.containers[0]
    assert template.resources.requests == {"cpu": new["cpu_request"], "memory": new["memory_request"]}
    pods = client.CoreV1Api(started.cluster.api_client()).list_namespaced_pod(
        "shop", label_selector="app=api"
    )
    live = [p for p in pods.items if p.metadata.deletion_timestamp is None]
    assert len(live) == 2 and all(
        p.spec.containers[0].resources.limits == {"memory": new["memory_limit"]} for p in live
    ), "the rolling update replaced every pod"
    names = {r["name"] for r in done.validation["rounds"][-1]["results"]}
    assert names == {"pods_ready", "no_restarts", "no_oom_kills"}
    entries = started.context.records.get(proposal.record_id)["entries"]
    kinds = [entry["kind"] for entry in entries]
    for kind in ("diagnosis", "savings", "proposal", "approval", "dry_run", "snapshot", "applied"):
        assert kind in kinds, (kind, kinds)
    savings = next(e for e in entries if e["kind"] == "savings")["data"]
    assert savings["containers"]["app"]["cpu_request_pct"] == container["savings"]["cpu_request_pct"] > 0
    assert done.execution["revert_plan"]["kind"] == "Deployment"


def test_namespace_parks_only_what_is_ok(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    assert _post(started, {"namespace": "shop"}).status_code == 202
    started.work(until=lambda: len(started.proposals("pending")) >= 6, timeout=180)
    started.work()
    parked = _by_workload(started)
    ok = {"api", "web", "worker", "boot", "front", "db"}
    assert set(parked) == ok, sorted(parked)  # young, edge, steady and late are not proposed
    web = parked["web"]
    assert set(web.action["params"]["containers"]) == {"app", "logs"}, "one proposal, both containers"
    db = [p for p in started.proposals() if p.target["kind"] == "StatefulSet"]
    assert len(db) == 1 and db[0].action["plan"]["kind"] == "StatefulSet"
    hpa = [p for p in started.proposals() if p.target["kind"] == "HorizontalPodAutoscaler"]
    assert len(hpa) == 1 and hpa[0].target["name"] == "front"
    (metric,) = hpa[0].action["plan"]["patch"]["spec"]["metrics"]
    front = next(c for c in parked["front"].diagnosis["rightsizing"]["containers"])
    wanted = front["hpa"]["recommended_target_utilization"]
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": wanted}
    # The same request again parks nothing twice.
    assert _post(started, {"namespace": "shop"}).status_code == 202
    started.work()
    assert len(started.proposals()) == 7


def test_statefulset_change_is_applied_with_a_revert_plan(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    assert _post(started, {"namespace": "shop", "workload": "StatefulSet/db"}).status_code == 202
    (proposal,) = started.work(until=lambda: started.proposals("pending"), timeout=120)
    assert proposal.target == {"kind": "StatefulSet", "namespace": "shop", "name": "db"}
    approved = started.client.post(
        f"/api/v1/approvals/{proposal.id}/approve", json={}, headers=auth("approver")
    )
    assert approved.status_code == 200
    started.work(until=lambda: started.context.proposals.get(proposal.id).execution.get("result"))
    done = started.context.proposals.get(proposal.id).execution
    apps = client.AppsV1Api(started.cluster.api_client())
    container = apps.read_namespaced_stateful_set("db", "shop").spec.template.spec.containers[0]
    new = proposal.diagnosis["rightsizing"]["containers"][0]["recommended"]
    assert container.resources.requests == {"cpu": new["cpu_request"], "memory": new["memory_request"]}
    revert = done["revert_plan"]
    assert revert["kind"] == "StatefulSet" and revert["patch_type"] == "json"
    assert revert["patch"][1] == {
        "op": "replace",
        "path": "/spec/template/spec/containers/0/resources",
        "value": rightsizing.BIG,
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "namespace"),
        ({"namespace": 3}, "namespace"),
        ({"namespace": "Shop_1"}, "namespace"),
        ({"namespace": "kube-system"}, "namespace"),
        ({"namespace": "shop", "workload": "Job/x"}, "workload"),
        ({"namespace": "shop", "workload": "api"}, "workload"),
        ({"namespace": "shop", "workload": ["Deployment/api"]}, "workload"),
        ({"namespace": "shop", "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_400_naming_the_field(pipeline_once: Pipeline, body: dict[str, Any], field: str) -> None:
    answer = _post(pipeline_once, body)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"] == "invalid_payload" and answer.get_json()["field"] == field


def test_auth_and_unknown_targets(pipeline_once: Pipeline) -> None:
    anonymous = pipeline_once.client.post("/api/v1/rightsizing", json={"namespace": "shop"})
    assert anonymous.status_code == 401
    assert _post(pipeline_once, {"namespace": "shop"}, role="viewer").status_code == 403
    assert _post(pipeline_once, {"namespace": "shop"}, role="webhook").status_code == 403
    missing = _post(pipeline_once, {"namespace": "nowhere"})
    assert missing.status_code == 404 and "namespace nowhere not found" in missing.get_json()["detail"]
    gone = _post(pipeline_once, {"namespace": "shop", "workload": "Deployment/gone"})
    assert gone.status_code == 404 and "Deployment shop/gone" in gone.get_json()["detail"]
    text = pipeline_once.client.post(
        "/api/v1/rightsizing",
        data="namespace=shop",
        headers={**auth("approver"), "Content-Type": "text/plain"},
    )
    assert text.status_code == 400
    assert pipeline_once.proposals() == []


@pytest.fixture(scope="module")
def pipeline_once(tmp_path_factory: pytest.TempPathFactory, redis_server: Any) -> Iterator[Pipeline]:
    """The receiver on a sandbox without history: the API's checks need no Prometheus."""
    import redis

    from sandbox.server import SandboxCluster

    folder = rightsizing.write_scenario(tmp_path_factory.mktemp("rs-api") / "scenario")
    cluster = SandboxCluster.from_dir(folder).start()
    connection = redis.Redis.from_url(redis_server.url)
    try:
        rules_dir = fast_rules(folder.parent / "rules")
        settings = Settings.model_validate(
            {"redis": {"url": redis_server.url}, "rules": {"dir": str(rules_dir)}}
        )
        context = Context(
            settings=settings,
            redis=connection,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(cluster.api_client()),
        )
        tokens = TokenBook([{"name": f"{role}-user", "role": role, "token": t} for role, t in TOKENS.items()])
        yield Pipeline(cluster=cluster, prometheus=None, context=context, app=create_app(context, tokens))
    finally:
        connection.close()
        cluster.stop()
