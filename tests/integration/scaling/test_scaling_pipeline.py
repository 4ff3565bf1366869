"""US2 through the whole responder: alert → proposal with capacity and cost → approve over HTTP → HPA
created on the sandbox → the sandbox's HPA controller scales → validated; and the refusals on the way.

Real parts: the sandbox over HTTP (its HPA controller and fixed-total load model), a real Prometheus
holding a week of backfilled history and scraping the sandbox, a real Redis and RQ workers, the
receiver app. The rules are the shipped library with a short validation window.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from receiver.app import create_app
from receiver.auth import TokenBook
from rules.registry import RuleRegistry
from sandbox import history
from sandbox.localprom import start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from tests.support.pipeline import TOKENS, Pipeline, auth, fast_rules
from tests.support.scaling import KEDA, SCENARIO, SCENARIOS
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.context import Context

FINAL = {"validated", "regressed", "failed", "unknown"}


def cpu_alert(deployment: str | None = "web", alertname: str = "AIOpsWorkloadCPUHigh") -> dict[str, Any]:
    labels = {"alertname": alertname, "namespace": "shop", "severity": "warning"}
    if deployment is not None:
        labels["deployment"] = deployment
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "CPU at 90 % of requests"},
        "startsAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": f"cpu-{deployment}-{alertname}".lower(),
    }


@pytest.fixture
def pipeline(tmp_path: Path, redis_conn: Any, redis_server: Any) -> Iterator[Callable[..., Pipeline]]:
    stops: list[Callable[[], None]] = []

    def start(edit: Callable[[Path], None] | None = None) -> Pipeline:
        folder = Path(shutil.copytree(SCENARIOS / "scaling-web", tmp_path / "scenario"))
        (folder / "scenario.yaml").write_text(
            textwrap.dedent(SCENARIO).replace("sync_period_s: 15", "sync_period_s: 1")
        )
        if edit is not None:
            edit(folder)
        cluster = SandboxCluster.from_dir(folder).start()
        stops.append(cluster.stop)
        target = cluster.url.removeprefix("http://")
        result = history.backfill(
            cluster.store, cluster.scenario, tmp_path / "prom" / "data", instance=target
        )
        prometheus = start_prometheus(tmp_path / "prom", [target], data_dir=result.data_dir)
        stops.append(prometheus.stop)
        wait_for_series(prometheus, 'kube_pod_owner{namespace="shop"}', samples=2, window="30s")
        wait_for_series(
            prometheus, 'container_cpu_usage_seconds_total{namespace="shop"}', samples=2, window="30s"
        )
        rules_dir = fast_rules(tmp_path / "rules", after="20s", window="30s")
        settings = Settings.model_validate(
            {
                "redis": {"url": redis_server.url},
                "prometheus": {"url": prometheus.url, "timeout_s": 20},
                "rules": {"dir": str(rules_dir)},
                "notify": {"sinks": [{"type": "log"}]},
            }
        )
        context = Context(
            settings=settings,
            redis=redis_conn,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(cluster.api_client()),
        )
        tokens = TokenBook([{"name": f"{role}-user", "role": role, "token": t} for role, t in TOKENS.items()])
        return Pipeline(
            cluster=cluster, prometheus=prometheus, context=context, app=create_app(context, tokens)
        )

    yield start
    for stop in reversed(stops):
        stop()


def _record(pipeline: Pipeline, record_id: str) -> list[dict[str, Any]]:
    response = pipeline.client.get(f"/api/v1/records/{record_id}", headers=auth("viewer"))
    assert response.status_code == 200
    entries: list[dict[str, Any]] = response.get_json()["entries"]
    return entries


def test_alert_to_validated_hpa(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    started.post_alerts(cpu_alert())
    (proposal,) = started.work(until=lambda: started.proposals("pending"), timeout=120)
    assert proposal.playbook == "scaling" and proposal.risk == "medium"
    assert proposal.action["type"] == "create-hpa"
    assert proposal.action["params"] == {
        "deployment": "web",
        "hpa_name": "web",
        "min_replicas": 3,
        "max_replicas": 10,
        "target_percent": 70,
    }
    plan = proposal.action["plan"]
    assert plan["verb"] == "create" and plan["kind"] == "HorizontalPodAutoscaler"
    assert plan["patch"]["metadata"]["labels"] == {"aiops.dev/managed-by": "aiops-responder"}
    assert plan["patch"]["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization",
        "averageUtilization": 70,
    }
    scaling = proposal.diagnosis["scaling"]
    assert scaling["capacity"]["fits"] is True and scaling["cost"]["currency"] == "USD"
    assert scaling["cost"]["monthly_delta_expected"] > 0 and scaling["replay"]["hours"]
    shown = started.client.get(f"/api/v1/approvals/{proposal.id}", headers=auth("viewer")).get_json()
    assert shown["diagnosis"]["scaling"]["cost"] == scaling["cost"]
    approved = started.client.post(
        f"/api/v1/approvals/{proposal.id}/approve", json={"comment": "scale it"}, headers=auth("approver")
    )
    assert approved.status_code == 200

    def final() -> Any:
        found = started.context.proposals.get(proposal.id)
        return found if found.status in FINAL else None

    done = started.work(until=final, timeout=240)
    autoscaling = client.AutoscalingV2Api(started.cluster.api_client())
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", "shop")
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (3, 10)
    replicas = (
        client.AppsV1Api(started.cluster.api_client()).read_namespaced_deployment("web", "shop").spec.replicas
    )
    assert replicas == 4  # ceil(3 × 0.9 / 0.7): 1350m over 4 pods is 337m each, under the 350m target
    assert done.status == "validated", done.validation
    kinds = [entry["kind"] for entry in _record(started, proposal.record_id)]
    for kind in ("diagnosis", "proposal", "approval", "dry_run", "snapshot", "applied", "validation_result"):
        assert kind in kinds, (kind, kinds)
    assert done.execution["revert_plan"]["verb"] == "delete"
    assert hpa.metadata is not None
    assert done.execution["revert_plan"]["guard"] == {"uid": hpa.metadata.uid}


def test_keda_managed_workload_gets_no_hpa_and_the_reason(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline(lambda folder: (folder / "keda.yaml").write_text(yaml.safe_dump(KEDA)))
    started.post_alerts(cpu_alert())
    (proposal,) = started.work(until=lambda: started.proposals("pending"), timeout=120)
    assert proposal.action["type"] == "none"
    assert "scaled by KEDA (ScaledObject web-queue)" in proposal.action["reasoning"]
    assert proposal.action["runbook"] == "docs/runbooks/scaling-decision.md"


def test_alert_without_a_workload_label_fails_permanently(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    started.post_alerts(cpu_alert(deployment=None))
    started.work()
    assert started.proposals() == []
    names = {key.decode().split(":")[2] for key in started.context.redis.scan_iter("aiops:record:r-*")}
    entries = [entry for name in names for entry in started.context.records.get(name)["entries"]]
    failed = [e for e in entries if e["kind"] == "investigation_failed"]
    assert failed and "deployment" in failed[0]["data"]["error"], entries


def test_workload_that_no_longer_exists_gets_no_action(pipeline: Callable[..., Pipeline]) -> None:
    started = pipeline()
    started.post_alerts(cpu_alert(deployment="gone"))
    (proposal,) = started.work(until=lambda: started.proposals("pending"), timeout=120)
    assert proposal.action["type"] == "none"
    assert proposal.diagnosis["summary"] == "deployment shop/gone no longer exists"
