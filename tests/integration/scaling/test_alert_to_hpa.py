"""US2 from the first sample to the validated HPA, with no shortcut: a real Prometheus evaluates the shipped
AIOpsWorkloadCPUHigh rule (``for:`` shortened) on the sandbox's series, a real Alertmanager posts to the
receiver over HTTP, RQ workers investigate, a person approves over HTTP, the HPA is created on the
sandbox, the sandbox's HPA controller scales, CPU per pod falls under the target, and it is validated.

The sandbox's pods are made two days old before the history is written, so their CPU series run
continuously from the history into the live scrape and a 5-minute rate is right at once.
"""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from receiver.app import create_app
from receiver.auth import TokenBook
from rules.registry import RuleRegistry
from sandbox import history
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.resources import of_kind
from sandbox.server import SandboxCluster
from tests.support.pipeline import TOKENS, Pipeline, auth, fast_rules
from tests.support.scaling import SCENARIO, SCENARIOS
from tests.support.served import ServedApp
from tests.support.servers import start_alertmanager
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.context import Context

DOCS_RULES = Path(__file__).resolve().parents[3] / "docs" / "alert-rules" / "scaling.yaml"
FINAL = {"validated", "regressed", "failed", "unknown"}


def _age_pods(cluster: SandboxCluster, days: float) -> None:
    """Make the pods the sandbox started look ``days`` old (before ``history.backfill`` reads them)."""
    pod_type = of_kind("Pod")
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    stamp = then.strftime("%Y-%m-%dT%H:%M:%SZ")
    for pod in cluster.store.items(pod_type, "shop"):
        pod["metadata"]["creationTimestamp"] = stamp
        pod["status"]["startTime"] = stamp
        for status in pod["status"].get("containerStatuses") or []:
            status.get("state", {}).get("running", {})["startedAt"] = stamp
        behaviour = cluster.store.behaviours.get(pod["metadata"]["uid"])
        if behaviour is not None:
            behaviour.started = then.timestamp()
        cluster.store.update(pod_type, pod)


def _evaluate_shipped_rule(prometheus: BinaryServer, workdir: Path, alertmanager: BinaryServer) -> None:
    """Load docs/alert-rules/scaling.yaml with ``for: 5s`` and send alerts to ``alertmanager``."""
    rules = yaml.safe_load(DOCS_RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "5s"
    (workdir / "scaling.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = yaml.safe_load((workdir / "prometheus.yml").read_text(encoding="utf-8"))
    config["rule_files"] = [str(workdir / "scaling.yaml")]
    target = alertmanager.url.removeprefix("http://")
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert httpx.post(f"{prometheus.url}/-/reload", timeout=10).status_code == 200


@pytest.fixture
def parts(tmp_path: Path, redis_conn: Any, redis_server: Any) -> Iterator[Pipeline]:
    folder = Path(shutil.copytree(SCENARIOS / "scaling-web", tmp_path / "scenario"))
    (folder / "scenario.yaml").write_text(
        textwrap.dedent(SCENARIO).replace("sync_period_s: 15", "sync_period_s: 1")
    )
    cluster = SandboxCluster.from_dir(folder).start()
    prometheus = alertmanager = None
    served = None
    try:
        _age_pods(cluster, days=2)
        target = cluster.url.removeprefix("http://")
        result = history.backfill(
            cluster.store, cluster.scenario, tmp_path / "prom" / "data", instance=target
        )
        prometheus = start_prometheus(tmp_path / "prom", [target], data_dir=result.data_dir)
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
        app = create_app(context, tokens)
        served = ServedApp(app).__enter__()
        alertmanager = start_alertmanager(
            tmp_path / "am", f"{served.url}/webhooks/alertmanager", TOKENS["webhook"]
        )
        wait_for_series(
            prometheus, 'container_cpu_usage_seconds_total{namespace="shop"}', samples=2, window="30s"
        )
        _evaluate_shipped_rule(prometheus, tmp_path / "prom", alertmanager)
        yield Pipeline(cluster=cluster, prometheus=prometheus, context=context, app=app)
    finally:
        for server in (alertmanager, prometheus):
            if server is not None:
                server.stop()
        if served is not None:
            served.__exit__(None, None, None)
        cluster.stop()


def test_shipped_rule_alertmanager_approval_hpa_scales_validated(parts: Pipeline) -> None:
    deadline = time.monotonic() + 120

    def parked() -> Any:
        pending = parts.proposals("pending")
        if not pending and time.monotonic() > deadline:
            raise TimeoutError("no proposal from the alert")
        return pending

    (proposal,) = parts.work(until=parked, timeout=150)
    assert proposal.alert["labels"]["alertname"] == "AIOpsWorkloadCPUHigh"
    assert proposal.alert["labels"]["deployment"] == "web" and proposal.alert["source"] == "alertmanager"
    assert proposal.action["type"] == "create-hpa"
    scaling = proposal.diagnosis["scaling"]
    assert scaling["capacity"]["fits"] is True and scaling["cost"]["monthly_delta_expected"] > 0
    assert scaling["usage"]["per_pod_5m_cores"] == pytest.approx(0.45, abs=0.03)
    approved = parts.client.post(
        f"/api/v1/approvals/{proposal.id}/approve", json={"comment": "go"}, headers=auth("approver")
    )
    assert approved.status_code == 200

    def final() -> Any:
        found = parts.context.proposals.get(proposal.id)
        return found if found.status in FINAL else None

    done = parts.work(until=final, timeout=240)
    assert done.status == "validated", done.validation
    api = parts.cluster.api_client()
    assert client.AppsV1Api(api).read_namespaced_deployment("web", "shop").spec.replicas == 4
    hpa = client.AutoscalingV2Api(api).read_namespaced_horizontal_pod_autoscaler("web", "shop")
    assert hpa.status is not None and hpa.status.conditions
    conditions = {c.type: c.status for c in hpa.status.conditions}
    assert conditions["AbleToScale"] == "True" and conditions["ScalingActive"] == "True"
    last = done.validation["rounds"][-1]["results"]
    checks = {result["name"]: result["ok"] for result in last}
    assert checks["cpu_per_pod_under_target"] is True and checks["error_rate_under_5_percent"] is True
