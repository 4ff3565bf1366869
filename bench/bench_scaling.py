"""Benchmark (US2): scaling recommendations for 500 Deployments with 7 days of history.

    .venv/bin/python bench/bench_scaling.py [--deployments 500] [--namespaces 10] [--days 7] [--step 300]

Builds a sandbox cluster of ``--deployments`` Deployments of one pod each (spread over
``--namespaces``), backfills ``--days`` of metric history for every pod with the real promtool
(``sandbox.history.backfill``, every series at ``--step`` seconds: coarser than the default 60 s CPU
step, to keep the backfill short), starts a real Prometheus on that data (loopback, stopped by pid),
then runs the recommendation of ``aiops scaling recommend`` (``evidence.gather`` + ``analysis.analyse``)
for every Deployment in turn. Prints the total time, per-recommendation p50/p95/max, and the number
of Prometheus queries issued, counted by a proxy around the client handed to the engine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _harness  # noqa: E402

from sandbox import history  # noqa: E402
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series  # noqa: E402
from sandbox.server import SandboxCluster  # noqa: E402
from workers.integrations.kubernetes.client import Kube  # noqa: E402
from workers.integrations.prometheus.client import prometheus_client  # noqa: E402
from workers.settings import PrometheusSettings, Settings  # noqa: E402
from workers.workflows.scaling import analysis, evidence  # noqa: E402

QUERY_METHODS = ("custom_query", "custom_query_range", "get_current_metric_value", "get_metric_range_data")


class CountingPrometheus:
    """The Prometheus client, counting the queries made through it (by method name)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.counts: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in QUERY_METHODS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] = self.counts.get(name, 0) + 1
            return attribute(*args, **kwargs)

        return counted

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def manifests(deployments: int, namespaces: int) -> str:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n:02d}"}}
        for n in range(namespaces)
    ]
    for i in range(deployments):
        name, namespace = f"svc-{i:03d}", f"team-{i % namespaces:02d}"
        container = {
            "name": "app",
            "image": f"registry.example.com/{namespace}/{name}:1.0.0",
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        }
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
                },
            }
        )
    return yaml.safe_dump_all(docs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deployments", type=int, default=500)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--step", type=int, default=300, help="history step of every series, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    print(f"machine: {_harness.machine()}")
    scenario = {
        "history": {
            "days": args.days,
            "step_seconds": args.step,
            "slow_step_seconds": args.step,
            "seed": 1,
        }
    }
    with _harness.workdir("aiops-bench-scaling-", keep=args.keep) as work:
        (work / "scenario").mkdir()
        (work / "scenario" / "workload.yaml").write_text(manifests(args.deployments, args.namespaces))
        (work / "scenario" / "scenario.yaml").write_text(yaml.safe_dump(scenario))
        cluster = SandboxCluster.from_dir(work / "scenario").start()  # the wall clock, as Prometheus
        prometheus: BinaryServer | None = None
        try:
            target = cluster.url.removeprefix("http://")
            done = history.backfill(
                cluster.store, cluster.scenario, work / "prometheus" / "data", instance=target
            )
            print(
                f"backfill: {done.stats.samples} samples over {(done.end - done.start) / 86400:.1f} days "
                f"at a {args.step} s step; OpenMetrics {done.generate_s:.1f} s "
                f"({done.openmetrics.stat().st_size / 2**20:.0f} MiB), promtool {done.promtool_s:.1f} s"
            )
            started = time.perf_counter()
            prometheus = start_prometheus(
                work / "prometheus", [target], scrape_interval="15s", data_dir=done.data_dir
            )
            wait_for_series(prometheus, "kube_pod_owner", timeout=120, samples=2, window=f"{args.days}d")
            print(
                f"prometheus: {prometheus.url}, ready with history in {time.perf_counter() - started:.1f} s"
            )
            settings = Settings(prometheus=PrometheusSettings(url=prometheus.url, timeout_s=60))
            client = CountingPrometheus(prometheus_client(settings.prometheus))
            targets = [(f"team-{i % args.namespaces:02d}", f"svc-{i:03d}") for i in range(args.deployments)]
            times: list[float] = []
            with_samples = 0
            with cluster.api_client() as api_client:
                kube = Kube(api_client, timeout_s=60)
                total_started = time.perf_counter()
                for namespace, name in targets:
                    started = time.perf_counter()
                    found = evidence.gather(
                        kube, client, namespace, name, settings.scaling.history_days, time.time()
                    )
                    analysis.analyse(found, settings.scaling)
                    times.append(time.perf_counter() - started)
                    with_samples += bool(found["cpu_samples"])
                total = time.perf_counter() - total_started
            times.sort()
            p50, p95 = _harness.percentile(times, 50), _harness.percentile(times, 95)
            print(
                f"recommendations: {len(times)} in {total:.1f} s; per recommendation p50 "
                f"{p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                f"max {times[-1] * 1000:.0f} ms, mean {statistics.mean(times) * 1000:.0f} ms; "
                f"{with_samples} with CPU history"
            )
            print(
                f"prometheus queries: {client.total} ({client.total / len(times):.1f} per recommendation; "
                f"{', '.join(f'{k} {v}' for k, v in sorted(client.counts.items()))})"
            )
        finally:
            if prometheus is not None:
                prometheus.stop()
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_harness.run(main))
