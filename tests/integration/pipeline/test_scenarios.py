"""Every scenario through the real pipeline: sandbox cluster, real Prometheus scraping its
kube-state-metrics/cAdvisor series, real Redis, the receiver and RQ workers.

Each scenario folder declares the alert, the diagnosis category, the proposed action (with its
parameters) and how validation must end; this test holds the product to them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.localprom import wait_for_series
from tests.support.pipeline import auth, build_pipeline, crash_alert, fast_rules, stop_pipeline

SCENARIOS = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios"


def _is_pod_failure(path: Path) -> bool:
    """US1 scenarios: their ``expect`` names a diagnosis category (other workflows' scenarios do not)."""
    spec = path / "scenario.yaml"
    return spec.exists() and "category" in ((yaml.safe_load(spec.read_text()) or {}).get("expect") or {})


ALL = sorted(path.name for path in SCENARIOS.iterdir() if _is_pod_failure(path))
FINAL = {"validated", "regressed", "failed", "unknown"}


def expectations(name: str) -> dict:
    return yaml.safe_load((SCENARIOS / name / "scenario.yaml").read_text())["expect"]


def test_there_are_at_least_twelve_scenarios_covering_every_category() -> None:
    categories = {expectations(name)["category"] for name in ALL}
    assert len(ALL) >= 12
    assert {
        "oom_killed",
        "bad_config",
        "missing_config_object",
        "probe_failure",
        "image_pull",
        "exec_error",
        "permission_denied",
        "dependency_unavailable",
        "app_crash",
        "init_container_failure",
        "unknown",
    } <= categories


@pytest.mark.parametrize("name", ALL)
def test_scenario(name: str, redis_conn, redis_server, tmp_path, scrape_slot) -> None:
    expect = expectations(name)
    pipeline = build_pipeline(
        SCENARIOS / name, redis_conn, redis_server.url, tmp_path, fast_rules(tmp_path / "rules"), scrape_slot
    )
    try:
        labels = expect["alert"]
        wait_for_series(
            scrape_slot.prometheus, f'kube_pod_container_status_restarts_total{{pod="{labels["pod"]}"}}'
        )
        alert = crash_alert(labels["pod"], labels["namespace"], labels["container"], labels["alertname"])
        assert pipeline.post_alerts(alert)["enqueued"] == 1
        proposal = pipeline.work(until=lambda: pipeline.proposals("pending"))[0]

        assert proposal.diagnosis["category"] == expect["category"], proposal.diagnosis["summary"]
        assert proposal.diagnosis["citations"], "every diagnosis cites its evidence"
        assert proposal.action["type"] == expect["action"], proposal.action
        for key, value in (expect.get("params") or {}).items():
            assert str(proposal.action["params"].get(key)) == str(value), (key, proposal.action["params"])
        if expect["action"] == "none":
            assert proposal.action["plan"] is None
            assert proposal.action["runbook"], "no-action proposals carry a runbook"
            return

        plan = proposal.action["plan"]
        assert plan["guard"], "every plan is guarded against changes since diagnosis"
        response = pipeline.client.post(
            f"/api/v1/approvals/{proposal.id}/approve", json={"comment": name}, headers=auth("approver")
        )
        assert response.status_code == 200
        pipeline.work(until=lambda: pipeline.context.proposals.get(proposal.id).status in FINAL, timeout=60)
        done = pipeline.context.proposals.get(proposal.id)
        assert done.status == expect["validation"], (done.status, done.execution, done.validation)
        kinds = pipeline.context.records.kinds(done.record_id)
        assert kinds.index("approval") < kinds.index("applied") < kinds.index("validation_result")
    finally:
        stop_pipeline(pipeline)
