"""A real Prometheus evaluates the shipped AIOpsRolloutErrorRate rule (``for:`` shortened) during a bad
rollout that a gate is analysing; a real Alertmanager posts it to the receiver over HTTP; the alert
joins the running gate (recorded in the gate and its record) instead of starting a second one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from receiver.app import create_app
from rules.registry import RuleRegistry
from sandbox.localprom import start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from tests.support.pipeline import TOKENS, Pipeline
from tests.support.receiver_api import token_book
from tests.support.rollouts import (
    BAD,
    gate,
    gate_rules,
    set_image,
    start_gate,
    until,
    wait_ready,
    write_scenario,
)
from tests.support.served import ServedApp
from tests.support.servers import start_alertmanager
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.context import Context

SHIPPED = Path(__file__).resolve().parents[3] / "docs" / "alert-rules" / "rollout-gate.yaml"
ALERT = "AIOpsRolloutErrorRate"


def _evaluate_shipped_rule(prom_dir: Path, prometheus: Any, alertmanager: Any) -> None:
    rules = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = "0s"
    (prom_dir / "rollout-gate.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = yaml.safe_load((prom_dir / "prometheus.yml").read_text(encoding="utf-8"))
    config["rule_files"] = [str(prom_dir / "rollout-gate.yaml")]
    target = alertmanager.url.removeprefix("http://")
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert httpx.post(f"{prometheus.url}/-/reload", timeout=10).status_code == 200


@pytest.fixture
def parts(tmp_path: Path, redis_conn: Any, redis_server: Any) -> Iterator[Pipeline]:
    cluster = SandboxCluster.from_dir(write_scenario(tmp_path / "scenario")).start()
    prometheus = alertmanager = served = None
    try:
        prometheus = start_prometheus(tmp_path / "prom", [cluster.url.removeprefix("http://")])
        # The pause waits for a person here, so the bad rollout goes on and the alert fires meanwhile.
        rules_dir = gate_rules(tmp_path / "rules", pause="required", window="60s")
        settings = Settings.model_validate(
            {
                "redis": {"url": redis_server.url},
                "prometheus": {"url": prometheus.url, "timeout_s": 5},
                "rules": {"dir": str(rules_dir)},
                "notify": {"sinks": [{"type": "log"}]},
                "rollouts": {"check_every_s": 1.0},
            }
        )
        context = Context(
            settings=settings,
            redis=redis_conn,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(cluster.api_client()),
        )
        app = create_app(context, token_book())
        served = ServedApp(app).__enter__()
        alertmanager = start_alertmanager(
            tmp_path / "am", f"{served.url}/webhooks/alertmanager", TOKENS["webhook"]
        )
        wait_for_series(prometheus, 'http_requests_total{namespace="shop"}', samples=2, window="1m")
        _evaluate_shipped_rule(tmp_path / "prom", prometheus, alertmanager)
        pipeline = Pipeline(cluster=cluster, prometheus=prometheus, context=context, app=app)
        wait_ready(pipeline)
        yield pipeline
    finally:
        for server in (alertmanager, prometheus):
            if server is not None:
                server.stop()
        if served is not None:
            served.__exit__(None, None, None)
        cluster.stop()


def test_the_shipped_alert_joins_the_running_gate(parts: Pipeline) -> None:
    set_image(parts, BAD)
    started = start_gate(parts)

    def joined() -> Any:
        found = gate(parts, started["id"])
        return found if any(a["alertname"] == ALERT for a in found["alerts"]) else None

    found = until(parts, joined, timeout=120)
    assert found["state"] in {"halting", "running"}, found
    record = parts.context.records.get(found["record_id"])
    siblings = [e["data"] for e in record["entries"] if e["kind"] == "sibling_alert"]
    assert siblings and siblings[0]["alert"]["labels"]["alertname"] == ALERT
    assert siblings[0]["alert"]["labels"]["deployment"] == "checkout"
    gates = parts.client.get("/api/v1/rollouts", headers={"Authorization": f"Bearer {TOKENS['viewer']}"})
    assert [g["id"] for g in gates.get_json()["items"]] == [started["id"]], "no second gate"
    # The only proposal is the gate's own pause (waiting for a person): the alert parked nothing.
    assert [p.id for p in parts.proposals()] == [found["proposals"]["rollout-pause"]]
