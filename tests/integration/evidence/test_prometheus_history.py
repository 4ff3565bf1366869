"""Range functions against a real Prometheus scraping the sandbox: a series only seconds old gives
"not enough history yet" instead of the 0 that ``increase`` answers, and a figure whose series covers
its range is kept as it is, 0 included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.model import Rule
from rules.render import render_rule
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from workers.integrations.prometheus.client import prometheus_client
from workers.integrations.prometheus.queries import gather_prometheus, run_query, sample_values
from workers.settings import PrometheusSettings
from workers.spine.evidence import empty_evidence, shown_metrics

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"
RULE = ROOT / "rules" / "library" / "pod-crashloop.yaml"
POD = "checkout-7d9f8b6c5-q8wzt"
RESTARTS = f'kube_pod_container_status_restarts_total{{namespace="shop", pod="{POD}", container="app"}}'
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BinaryServer, Any]]:
    """A fresh Prometheus scraping a sandbox whose clock stands still, so restartCount stays at 7."""
    cluster = SandboxCluster.from_dir(DEMO, clock=lambda: NOW).start()
    prometheus = None
    try:
        workdir = tmp_path_factory.mktemp("prometheus")
        prometheus = start_prometheus(workdir, [cluster.url.removeprefix("http://")])
        wait_for_series(prometheus, RESTARTS)  # two samples: increase() has something to subtract
        yield prometheus, prometheus_client(PrometheusSettings(url=prometheus.url, timeout_s=5))
    finally:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()


def evidence_for(client: Any, queries: dict[str, str]) -> dict[str, Any]:
    evidence = empty_evidence({"kind": "Pod", "namespace": "shop", "name": POD})
    gather_prometheus(client, queries, evidence)
    return evidence


def test_fresh_series_reports_not_enough_history_instead_of_zero(scraped) -> None:
    _, client = scraped
    data = yaml.safe_load(RULE.read_text())
    data["match"]["labels"] = {}  # only the evidence queries matter here
    rule = Rule.model_validate(data)
    alert = {"status": "firing", "labels": {"namespace": "shop", "pod": POD, "container": "app"}}
    queries = dict(render_rule(rule, alert).queries)
    # What the rule's query alone answers: 0 restarts in the last hour, beside restartCount 7.
    assert sample_values(run_query(client, queries["restarts_1h"])) == [0.0]

    evidence = evidence_for(client, queries)
    assert evidence["errors"] == []
    assert evidence["metrics"]["restarts_1h"] is None
    note = evidence["metric_notes"]["restarts_1h"]
    assert note.startswith("not enough history yet: ") and note.endswith(" UTC (range 1h)"), note
    samples = int(note.removeprefix("not enough history yet: ").split(" ")[0])
    assert samples >= 2
    # max_over_time is a true observation from the first sample on; a plain gauge has no range.
    assert evidence["metrics"]["memory_peak_bytes"] == 128 * 2**20
    assert evidence["metrics"]["memory_limit_bytes"] == 512 * 2**20
    assert "memory_peak_bytes" not in evidence["metric_notes"]
    # The pod has no CPU limit, so the CFS series do not exist at all.
    assert evidence["metrics"]["cpu_throttled_ratio"] is None
    assert evidence["metric_notes"]["cpu_throttled_ratio"] == "no samples in the 1h range"
    assert shown_metrics(evidence)["restarts_1h"] == note


def test_a_range_the_series_covers_keeps_its_figure_even_when_it_is_zero(scraped) -> None:
    prometheus, client = scraped
    wait_for_series(prometheus, RESTARTS, samples=15, window="1m")  # history older than the 10s range
    evidence = evidence_for(client, {"restarts_10s": f"sum(increase({RESTARTS}[10s]))"})
    assert evidence["errors"] == [] and evidence["metric_notes"] == {}
    assert evidence["metrics"]["restarts_10s"] == 0.0


def test_label_values_that_look_like_ranges_stay_inside_their_literal(scraped) -> None:
    _, client = scraped
    hostile = 'sum(increase(kube_pod_container_status_restarts_total{pod="x]}[5m]) or vector(1) #"}[1h]))'
    evidence = evidence_for(client, {"hostile": hostile})
    # Prometheus accepted the combined expression (no fallback) and found no such series.
    assert evidence["errors"] == []
    assert evidence["metrics"]["hostile"] is None
    assert evidence["metric_notes"]["hostile"] == "no samples in the 1h range"


def test_a_query_that_cannot_carry_history_terms_runs_alone_and_says_so(scraped) -> None:
    _, client = scraped
    evidence = evidence_for(client, {"restarts": f"sum(increase({RESTARTS}[1h])) > bool 1"})
    assert evidence["metrics"]["restarts"] is None  # still: history shows too few samples
    scalar = evidence_for(client, {"restarts": f"scalar(sum(increase({RESTARTS}[1h])))"})
    assert scalar["errors"] == []
    assert scalar["metric_notes"]["restarts"].startswith("history not checked")
