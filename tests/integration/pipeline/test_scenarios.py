"""Every scenario through the real pipeline: sandbox cluster, real Prometheus scraping its
kube-state-metrics/cAdvisor series, real Redis, the receiver and RQ workers.

Each scenario folder declares the alert, the diagnosis category, the proposed action (with its
parameters) and how validation must end; this test holds the product to them. The scenarios run in
a few batches (tests/support/scenario_batches.py): one sandbox cluster per batch holds every scenario
of the batch, all their alerts go through the receiver, the workers investigate them, every proposed
action is approved over the API, executed and validated, and each scenario's test then checks its own
proposal. One Prometheus and one Redis serve every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from sandbox.localprom import wait_for_series
from tests.support.pipeline import auth, build_pipeline, crash_alert, fast_rules, stop_pipeline
from tests.support.scenario_batches import batches, merge

SCENARIOS = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios"
FINAL = {"validated", "regressed", "failed", "unknown"}
BATCH_TIMEOUT_S = 120.0


def _is_pod_failure(path: Path) -> bool:
    """US1 scenarios: their ``expect`` names a diagnosis category (other workflows' scenarios do not)."""
    spec = path / "scenario.yaml"
    return spec.exists() and "category" in ((yaml.safe_load(spec.read_text()) or {}).get("expect") or {})


BATCHES = batches(sorted(path for path in SCENARIOS.iterdir() if _is_pod_failure(path)))
BATCH_OF = {path.name: index for index, batch in enumerate(BATCHES) for path in batch}
ALL = list(BATCH_OF)  # batch by batch, so each batch runs once, right before its scenarios' tests


def expectations(name: str) -> dict[str, Any]:
    expect: dict[str, Any] = yaml.safe_load((SCENARIOS / name / "scenario.yaml").read_text())["expect"]
    return expect


@dataclass
class Outcome:
    """What the pipeline made of one scenario's alert."""

    enqueued: int
    proposal: Any = None
    """The proposal as parked (before any decision)."""
    approval_status: int | None = None
    done: Any = None
    """The proposal once final, for approved ones."""
    kinds: list[str] = field(default_factory=list)


def _run_batch(paths: list[Path], redis_url: str, workdir: Path, slot: Any) -> dict[str, Outcome]:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    pipeline = build_pipeline(
        merge(paths, workdir / "cluster"), connection, redis_url, workdir, fast_rules(workdir / "rules"), slot
    )
    try:
        alerts = {path.name: expectations(path.name)["alert"] for path in paths}
        for labels in alerts.values():
            wait_for_series(
                slot.prometheus, f'kube_pod_container_status_restarts_total{{pod="{labels["pod"]}"}}'
            )
        outcomes = {}
        for name, labels in alerts.items():
            alert = crash_alert(labels["pod"], labels["namespace"], labels["container"], labels["alertname"])
            outcomes[name] = Outcome(enqueued=pipeline.post_alerts(alert)["enqueued"])
        by_pod = {labels["pod"]: name for name, labels in alerts.items()}

        def parked() -> dict[str, Any]:
            found = {by_pod.get(p.alert["labels"]["pod"]): p for p in pipeline.proposals()}
            return found if set(alerts) <= set(found) else {}

        for name, proposal in pipeline.work(until=parked, timeout=BATCH_TIMEOUT_S).items():
            if name in outcomes:
                outcomes[name].proposal = proposal
        approved = []
        for name, outcome in outcomes.items():
            if outcome.proposal.action["type"] == "none":
                continue
            response = pipeline.client.post(
                f"/api/v1/approvals/{outcome.proposal.id}/approve",
                json={"comment": name},
                headers=auth("approver"),
            )
            outcome.approval_status = response.status_code
            approved.append(name)

        def final() -> bool:
            return all(
                pipeline.context.proposals.get(outcomes[name].proposal.id).status in FINAL
                for name in approved
            )

        if approved:
            pipeline.work(until=final, timeout=BATCH_TIMEOUT_S)
        for name in approved:
            done = pipeline.context.proposals.get(outcomes[name].proposal.id)
            outcomes[name].done = done
            outcomes[name].kinds = pipeline.context.records.kinds(done.record_id)
        return outcomes
    finally:
        stop_pipeline(pipeline)
        connection.flushdb()
        connection.close()


class Corpus:
    """Runs each batch the first time one of its scenarios asks, and keeps the outcomes."""

    def __init__(self, redis_url: str, slot: Any, tmp: pytest.TempPathFactory) -> None:
        self.redis_url, self.slot, self.tmp = redis_url, slot, tmp
        self.outcomes: dict[int, dict[str, Outcome] | BaseException] = {}

    def outcome(self, name: str) -> Outcome:
        index = BATCH_OF[name]
        if index not in self.outcomes:
            try:
                self.outcomes[index] = _run_batch(
                    BATCHES[index], self.redis_url, self.tmp.mktemp(f"batch{index}"), self.slot
                )
            except Exception as exc:  # every scenario of the batch reports it, not only the first
                self.outcomes[index] = exc
        result = self.outcomes[index]
        if isinstance(result, BaseException):
            raise AssertionError(f"batch {index} of the scenario run failed: {result!r}") from result
        return result[name]


@pytest.fixture(scope="module")
def corpus(redis_server, scrape_slot, tmp_path_factory) -> Corpus:
    return Corpus(redis_server.url, scrape_slot, tmp_path_factory)


def test_there_are_at_least_sixty_scenarios_covering_every_category() -> None:
    categories = {expectations(name)["category"] for name in ALL}
    assert len(ALL) >= 60
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
        "node_problem",
        "unknown",
    } <= categories


def test_batches_hold_every_scenario_once() -> None:
    names = [path.name for batch in BATCHES for path in batch]
    assert sorted(names) == sorted(set(names)) == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
def test_scenario(name: str, corpus: Corpus) -> None:
    expect = expectations(name)
    outcome = corpus.outcome(name)
    assert outcome.enqueued == 1
    proposal = outcome.proposal
    assert proposal is not None, "no proposal was parked"
    assert proposal.diagnosis["category"] == expect["category"], proposal.diagnosis["summary"]
    assert proposal.diagnosis["citations"], "every diagnosis cites its evidence"
    if expect["category"] != "unknown":
        assert proposal.diagnosis["decided_by"]["text"], "a diagnosis names the evidence that decided it"
    assert proposal.action["type"] == expect["action"], proposal.action
    for key, value in (expect.get("params") or {}).items():
        assert str(proposal.action["params"].get(key)) == str(value), (key, proposal.action["params"])
    if expect["action"] == "none":
        assert proposal.action["plan"] is None
        assert proposal.action["runbook"], "no-action proposals carry a runbook"
        return

    assert proposal.action["plan"]["guard"], "every plan is guarded against changes since diagnosis"
    assert outcome.approval_status == 200
    done = outcome.done
    assert done.status == expect["validation"], (done.status, done.execution, done.validation)
    kinds = outcome.kinds
    assert kinds.index("approval") < kinds.index("applied") < kinds.index("validation_result")
