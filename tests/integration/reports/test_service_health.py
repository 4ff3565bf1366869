"""Service health from a real Prometheus scraping the sandbox, with a week of history backfilled by
promtool: latency percentiles by histogram_quantile and the error ratio per service over the week, the
findings they raise, and the charts drawn from them."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sandbox import history
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from tests.support.reports import make_context
from workers.integrations.kubernetes.client import Kube
from workers.spine.report_render import render_html
from workers.spine.reports import run_report

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: checkout, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers: [{name: app, image: registry.example.com/shop/checkout:2.1.0}]
---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec: {selector: {app: checkout}, ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: catalog, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: catalog}}
  template:
    metadata: {labels: {app: catalog}}
    spec:
      containers: [{name: app, image: registry.example.com/shop/catalog:1.0.0}]
---
apiVersion: v1
kind: Service
metadata: {name: catalog, namespace: shop}
spec: {selector: {app: catalog}, ports: [{port: 80}]}
"""
SCENARIO = """
traffic:
  rps: 100
  error_ratio: 0.0
  images: {"shop/checkout:2.1.0": 0.12}
  latency: {p50: 0.02, p95: 0.08}
  services: {shop/checkout: {p50: 0.4, p95: 1.6}}
history:
  days: 7
"""
RPS, REPLICAS, WEEK_S = 100, 2, 7 * 86400


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxCluster, BinaryServer]]:
    """A sandbox on the wall clock (Prometheus stamps samples with it), 7 days of history, scraped every
    second."""
    folder = tmp_path_factory.mktemp("service-health")
    (folder / "scenario").mkdir()
    (folder / "scenario" / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (folder / "scenario" / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    cluster = SandboxCluster.from_dir(folder / "scenario").start()
    prometheus = None
    try:
        target = cluster.url.removeprefix("http://")
        result = history.backfill(
            cluster.store, cluster.scenario, folder / "prometheus" / "data", instance=target
        )
        prometheus = start_prometheus(folder / "prometheus", [target], data_dir=result.data_dir)
        for selector in (
            "http_request_duration_seconds_bucket",
            "http_requests_total",
            "kube_pod_labels",
        ):
            wait_for_series(prometheus, selector, samples=3)
        yield cluster, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()


def test_latency_and_error_ratio_per_service(
    live: tuple[SandboxCluster, BinaryServer], redis_conn: redis.Redis, tmp_path: Path
) -> None:
    cluster, prometheus = live
    context = make_context(
        redis_conn,
        lambda: dt.datetime.now(dt.UTC),
        lambda: Kube(cluster.api_client()),
        prometheus.url,
    )
    report = run_report(context, "health")
    section = next(s for s in report.sections if s.id == "services")
    assert section.unavailable is None and section.title == "Service health"
    services = section.summary["services"]
    assert set(services) == {"shop/checkout", "shop/catalog"}
    checkout, catalog = services["shop/checkout"], services["shop/catalog"]
    assert 0.06 < checkout["error_ratio"] < 0.2  # 12 % of the checkout pods' answers are 5xx
    assert catalog["error_ratio"] == 0
    assert checkout["p50"] < checkout["p95"] < checkout["p99"] and 0.2 < checkout["p50"] < 0.8
    assert catalog["p95"] < 0.2 and catalog["requests_per_s"] > 0
    # The figures are the week's: about RPS x REPLICAS requests a second for 7 days, from the history.
    for figures in (checkout, catalog):
        assert 0.8 * RPS * REPLICAS * WEEK_S < figures["requests"] < 1.2 * RPS * REPLICAS * WEEK_S
    findings = {(f.check, f.name): f for f in section.findings}
    assert findings[("services.error_rate", "checkout")].severity.value == "critical"  # > 5 x 1 %
    assert ("services.latency", "checkout") in findings  # p99 above 1 s
    assert not any(name == "catalog" for _check, name in findings)
    pods = next(s for s in report.sections if s.id == "pods")
    assert pods.summary["restarts_source"].startswith("prometheus:")
    titles = [chart["title"] for chart in section.summary["charts"]]
    assert titles == ["Error ratio per service (week)", "Latency per service (week)"]
    page = render_html(report)
    assert page.count("<svg") == 3  # error ratio, latency, capacity per node
