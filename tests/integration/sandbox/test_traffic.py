"""HTTP traffic series scraped by a real Prometheus: the 5xx share per image during a rollout, joined
to ReplicaSets through kube_pod_owner, zero traffic, and the per-Service latency histogram."""

from __future__ import annotations

import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
  annotations: {sandbox.aiops.dev/rollout-step-seconds: "1"}
spec:
  replicas: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers: [{name: app, image: registry.example.com/shop/checkout:2.0.3}]
---
apiVersion: v1
kind: Service
metadata: {name: checkout, namespace: shop}
spec:
  selector: {app: checkout}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec:
      containers: [{name: app, image: registry.example.com/shop/idle:1.0.0}]
"""
SCENARIO = """
traffic:
  rps: 200
  error_ratio: 0.001
  images: {"shop/checkout:2.1.0": 0.12}
  workloads: {shop/idle: {rps: 0}}
  services: {shop/checkout: {p50: 0.08, p95: 0.4}}
"""
BAD = "registry.example.com/shop/checkout:2.1.0"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxCluster, BinaryServer]]:
    """A sandbox on the wall clock (Prometheus stamps samples with it), scraped every second."""
    folder = tmp_path_factory.mktemp("traffic")
    (folder / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (folder / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    cluster = SandboxCluster.from_dir(folder).start()
    prometheus = None
    try:
        prometheus = start_prometheus(folder / "prometheus", [cluster.url.removeprefix("http://")])
        yield cluster, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()


def query(prometheus: BinaryServer, promql: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_error_ratio_of_the_bad_image_in_a_real_prometheus(live: tuple[SandboxCluster, BinaryServer]) -> None:
    cluster, prometheus = live
    with cluster.api_client() as api:
        apps = client.AppsV1Api(api)
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": BAD}]}}}}
        apps.patch_namespaced_deployment("checkout", "shop", patch)

        def rolled_out() -> Any:
            dep = apps.read_namespaced_deployment("checkout", "shop")
            reason = next(c.reason for c in dep.status.conditions if c.type == "Progressing")
            return dep if reason == "NewReplicaSetAvailable" and dep.status.updated_replicas == 3 else None

        assert wait_until(rolled_out), "the rollout completes a pod a second"
        sets = apps.list_namespaced_replica_set("shop", label_selector="app=checkout").items
    new = next(rs for rs in sets if rs.spec.template.spec.containers[0].image == BAD)
    old = next(rs for rs in sets if rs.metadata.name != new.metadata.name)
    bad_pods = f'namespace="shop", pod=~"{new.metadata.name}-.*"'
    wait_for_series(prometheus, f"http_requests_total{{{bad_pods}}}", samples=20, window="1m", timeout=60)

    ratio = query(
        prometheus,
        f'sum(rate(http_requests_total{{{bad_pods}, code=~"5.."}}[1m]))'
        f" / sum(rate(http_requests_total{{{bad_pods}}}[1m]))",
    )
    assert abs(float(ratio[0]["value"][1]) - 0.12) < 0.01, ratio
    # The same split per ReplicaSet through kube-state-metrics' owner series, as a rollout gate joins it.
    by_rs = query(
        prometheus,
        'sum by (owner_name) (rate(http_requests_total{namespace="shop", code=~"5.."}[1m])'
        ' * on (namespace, pod) group_left (owner_name) kube_pod_owner{owner_kind="ReplicaSet"})'
        ' / sum by (owner_name) (rate(http_requests_total{namespace="shop"}[1m])'
        ' * on (namespace, pod) group_left (owner_name) kube_pod_owner{owner_kind="ReplicaSet"})',
    )
    shares = {r["metric"]["owner_name"]: float(r["value"][1]) for r in by_rs}
    assert abs(shares[new.metadata.name] - 0.12) < 0.01, shares
    assert shares.get(old.metadata.name, 0.0) < 0.005, shares
    owner = query(prometheus, f'kube_replicaset_owner{{replicaset="{new.metadata.name}"}}')
    assert owner[0]["metric"]["owner_name"] == "checkout"
    updated = query(prometheus, 'kube_deployment_status_replicas_updated{deployment="checkout"}')
    assert float(updated[0]["value"][1]) == 3


def test_zero_traffic_gives_no_increase(live: tuple[SandboxCluster, BinaryServer]) -> None:
    _, prometheus = live
    idle = 'http_requests_total{namespace="shop", pod=~"idle-.*"}'
    wait_for_series(prometheus, idle, samples=5, window="1m")
    assert len(query(prometheus, idle)) == 4, "GET and POST, 200 and 500: the series exist"
    increase = query(prometheus, f"sum(increase({idle}[1m]))")
    assert float(increase[0]["value"][1]) == 0.0


def test_service_latency_histogram(live: tuple[SandboxCluster, BinaryServer]) -> None:
    _, prometheus = live
    buckets = 'http_request_duration_seconds_bucket{namespace="shop", service="checkout"}'
    wait_for_series(prometheus, buckets, samples=5, window="1m")
    assert {r["metric"]["le"] for r in query(prometheus, buckets)} >= {"0.005", "0.1", "1", "10", "+Inf"}

    def quantile(q: float) -> float:
        found = query(prometheus, f"histogram_quantile({q}, sum by (le) (rate({buckets}[1m])))")
        return float(found[0]["value"][1])

    assert 0.05 < quantile(0.5) <= 0.1, "p50 0.08 s lies in the (0.05, 0.1] bucket"
    assert 0.25 < quantile(0.95) <= 0.5, "p95 0.4 s lies in the (0.25, 0.5] bucket"
    count = query(prometheus, 'http_request_duration_seconds_count{service="checkout"}')
    inf = query(prometheus, f'{buckets[:-1]}, le="+Inf"}}')
    assert count[0]["value"][1] == inf[0]["value"][1]


def test_counters_follow_the_sandbox_clock(tmp_path: Path) -> None:
    import datetime as dt

    (tmp_path / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (tmp_path / "scenario.yaml").write_text(textwrap.dedent(SCENARIO))
    frozen = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    with SandboxCluster.from_dir(tmp_path, clock=lambda: frozen) as cluster:

        def scrape() -> dict[tuple[str, str, str], float]:
            with urllib.request.urlopen(f"{cluster.url}/metrics", timeout=5) as response:
                lines = response.read().decode().splitlines()
            found = {}
            for line in lines:
                if line.startswith("http_requests_total{") and 'pod="checkout-' in line:
                    labels, value = line.rsplit(" ", 1)
                    pod = labels.split('pod="')[1].split('"')[0]
                    method = labels.split('method="')[1].split('"')[0]
                    code = labels.split('code="')[1].split('"')[0]
                    found[(pod, method, code)] = float(value)
            return found

        assert set(scrape().values()) == {0.0}, "no pod is Ready yet: nothing served"
        cluster.advance(1)
        assert scrape() == scrape(), "the same sandbox time, the same counts"
        cluster.advance(10)
        counts = scrape()
        pods = {pod for pod, _, _ in counts}
        assert len(pods) == 3
        for pod in pods:  # 10 s at 200/s, 0.1 % 5xx, GET 80 %
            assert counts[(pod, "GET", "200")] == int(10 * 200 * 0.8 * 0.999)
            assert counts[(pod, "GET", "500")] == int(10 * 200 * 0.8 * 0.001)


def test_bad_traffic_settings_are_rejected(tmp_path: Path) -> None:
    from sandbox.errors import ScenarioError

    (tmp_path / "workload.yaml").write_text(textwrap.dedent(MANIFESTS))
    (tmp_path / "scenario.yaml").write_text(
        "rollout_step_seconds: -1\ntraffic:\n  rps: -5\n  images: {'shop/checkout:2.1.0': 1.2}\n"
        "  services: {shop/checkout: {p50: 0.5, p95: 0.1}}\n"
    )
    with pytest.raises(ScenarioError) as err:
        SandboxCluster.from_dir(tmp_path)
    text = "\n".join(err.value.problems)
    for field in (
        "rollout_step_seconds",
        "traffic.rps",
        "traffic.images['shop/checkout:2.1.0']",
        "services[",
    ):
        assert field in text, (field, text)
