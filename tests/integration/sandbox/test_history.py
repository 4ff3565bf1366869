"""History backfill: a week of OpenMetrics turned into blocks by the real promtool, read by a real
Prometheus that then scrapes the live sandbox: percentiles over 7 days, the OOM episode, start-up
peaks, and one series per label set across the seam between history and live samples."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import history
from sandbox.errors import ScenarioError
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/api:1.0.0
          resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 512Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/worker:3.2.0
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
"""
SCENARIO = """
traffic: {rps: 5, error_ratio: 0.01}
history:
  days: 7
  workloads:
    shop/api:
      cpu: {base: 200m, daily: 0.5, weekly: 0, noise: 0}
      memory: {base: 256Mi, daily: 0.2, weekly: 0, noise: 0}
      spikes: {per_day: 0}
    shop/worker:
      cpu: {base: 50m, daily: 0, weekly: 0, noise: 0}
      memory: {base: 100Mi}
      spikes: {per_day: 0}
      replaced: [5d]
      oom: {at: 3d, container: app, ramp_minutes: 60}
"""
# p95 of a sine over whole days: the value at 0.45 of a half-period above the mean.
CPU_P95 = 0.2 * (1 + 0.5 * math.sin(0.45 * math.pi))
MEMORY_P95 = 256 * 2**20 * (1 + 0.2 * math.sin(0.45 * math.pi))


@pytest.fixture(scope="module")
def backfilled(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SandboxCluster, BinaryServer, Any]]:
    folder = tmp_path_factory.mktemp("history")
    (folder / "scenario").mkdir()
    (folder / "scenario" / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (folder / "scenario" / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    cluster = SandboxCluster.from_dir(folder / "scenario").start()  # the wall clock, as Prometheus
    prometheus = None
    try:
        target = cluster.url.removeprefix("http://")
        result = history.backfill(
            cluster.store, cluster.scenario, folder / "prometheus" / "data", instance=target
        )
        prometheus = start_prometheus(folder / "prometheus", [target], data_dir=result.data_dir)
        wait_for_series(
            prometheus, 'kube_pod_owner{namespace="shop", pod=~"api-.*"}', samples=2, window="30s"
        )
        yield cluster, prometheus, result
    finally:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()


def query(prometheus: BinaryServer, promql: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": promql}, timeout=30).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def values(prometheus: BinaryServer, promql: str) -> list[float]:
    return [float(r["value"][1]) for r in query(prometheus, promql)]


def test_backfill_wrote_a_week_of_samples(backfilled) -> None:
    _, _, result = backfilled
    assert result.end - result.start == 7 * 86400
    assert result.stats.skipped == []
    assert result.stats.samples > 3 * 7 * 1440 * 2, "CPU and memory of three containers at a 1-minute step"
    assert result.openmetrics.read_text().endswith("# EOF\n")


def test_seven_day_cpu_and_memory_percentiles(backfilled) -> None:
    _, prometheus, _ = backfilled
    cpu = values(
        prometheus,
        'quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{pod=~"api-.*"}[5m])[7d:5m])',
    )
    assert max(cpu) == pytest.approx(CPU_P95, rel=0.02), cpu
    everything = query(
        prometheus, "quantile_over_time(0.95, rate(container_cpu_usage_seconds_total[5m])[7d:5m])"
    )
    assert sum(1 for r in everything if r["metric"]["pod"].startswith("api-")) >= 2
    memory = values(
        prometheus, 'quantile_over_time(0.95, container_memory_working_set_bytes{pod=~"api-.*"}[7d])'
    )
    assert max(memory) == pytest.approx(MEMORY_P95, rel=0.02), memory
    median = values(
        prometheus, 'max(quantile_over_time(0.5, container_memory_working_set_bytes{pod=~"api-.*"}[7d]))'
    )
    assert median[0] == pytest.approx(256 * 2**20, rel=0.03)


def test_oom_episode_three_days_ago(backfilled) -> None:
    _, prometheus, _ = backfilled
    labels = 'namespace="shop", pod=~"worker-.*", reason="OOMKilled"'
    reason = f"kube_pod_container_status_last_terminated_reason{{{labels}}}"
    assert values(prometheus, f"max_over_time({reason}[7d])") == [1.0]
    samples = values(prometheus, f"count_over_time({reason}[7d])")
    assert samples[0] == pytest.approx(3 * 86400 / 300, abs=3), "from the kill three days ago until now"
    restarts = values(
        prometheus, 'sum(increase(kube_pod_container_status_restarts_total{pod=~"worker-.*"}[7d]))'
    )
    assert restarts[0] == pytest.approx(1, abs=0.05)
    peak = values(prometheus, 'max(max_over_time(container_memory_working_set_bytes{pod=~"worker-.*"}[7d]))')
    assert 0.95 * 256 * 2**20 <= peak[0] <= 256 * 2**20, "the working set climbed to the limit"
    limit = values(
        prometheus,
        'max(kube_pod_container_resource_limits{pod=~"worker-.*", resource="memory", unit="byte"})',
    )
    assert limit == [256 * 2**20]


def test_start_up_peaks_after_container_starts(backfilled) -> None:
    _, prometheus, _ = backfilled
    rate = 'rate(container_cpu_usage_seconds_total{pod=~"worker-.*"}[2m])'
    peak = values(prometheus, f"max(max_over_time({rate}[7d:1m]))")[0]
    median = values(prometheus, f"max(quantile_over_time(0.5, {rate}[7d:1m]))")[0]
    assert peak > 1.5 * median, (peak, median)  # flat usage but for the starts: x3, falling over 3 min
    started = 'kube_pod_container_state_started{pod=~"worker-.*"}[7d]'
    starts = values(prometheus, f"min_over_time({started})") + values(prometheus, f"max_over_time({started})")
    now = values(prometheus, "vector(time())")
    in_window = sorted(now[0] - s for s in starts if now[0] - s < 7 * 86400)
    assert any(abs(ago - 5 * 86400) < 120 for ago in in_window), "replaced five days ago"
    assert any(abs(ago - 3 * 86400) < 120 for ago in in_window), "restarted after the OOM kill"


def test_history_and_live_samples_are_one_series(backfilled) -> None:
    cluster, prometheus, _ = backfilled
    rs = next(
        r["metadata"]["name"]
        for r in cluster.list("ReplicaSet", "shop")
        if r["metadata"]["name"].startswith("api-")
    )
    owner = f'kube_replicaset_owner{{replicaset="{rs}"}}'
    wait_for_series(prometheus, owner, samples=2, window="30s")
    assert len(query(prometheus, owner)) == 1
    assert values(prometheus, f"count_over_time({owner}[7d])")[0] > 7 * 86400 / 300, (
        "history and live samples"
    )
    histogram = 'http_request_duration_seconds_count{namespace="shop", service="api"}'
    wait_for_series(prometheus, histogram, samples=2, window="30s")
    assert values(prometheus, f"resets({histogram}[7d])") == [0.0], (
        "the live histogram goes on from the history"
    )
    assert len(query(prometheus, 'kube_node_status_allocatable{resource="cpu"}')) == 1
    live_pod = next(
        p["metadata"]["name"] for p in cluster.list("Pod", "shop") if p["metadata"]["name"].startswith("api-")
    )
    wait_for_series(
        prometheus, f'container_cpu_usage_seconds_total{{pod="{live_pod}"}}', samples=2, window="30s"
    )
    keys = {
        frozenset(r["metric"])
        for r in query(prometheus, 'container_cpu_usage_seconds_total{pod=~"api-.*"}[7d]')
    }
    assert len(keys) == 1, "predecessors and live pods carry the same label names"
    requests = {frozenset(r["metric"]) for r in query(prometheus, 'http_requests_total{pod=~"api-.*"}[7d]')}
    assert len(requests) == 1
    ratio = values(
        prometheus,
        'sum(increase(http_requests_total{code=~"5.."}[7d])) / sum(increase(http_requests_total[7d]))',
    )
    assert ratio[0] == pytest.approx(0.01, rel=0.05)


def test_bad_history_settings_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (tmp_path / "scenario.yaml").write_text(
        "history:\n  days: 30\n  colour: blue\n  workloads:\n    shop/api: {oom: {at: soon}}\n"
    )
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(tmp_path)
    text = "\n".join(err.value.problems)
    assert "history.days" in text and "'colour'" in text and "soon" in text
