"""Benchmark (US3): right-sizing 1,000 workloads from 7 days of history, with a bounded number of queries.

    .venv/bin/python bench/bench_rightsizing.py [--workloads 1000] [--namespaces 10] [--days 8] [--step 300]

Builds a sandbox cluster of ``--workloads`` Deployments of one pod each (spread over ``--namespaces``),
backfills ``--days`` of history for every pod with the real promtool (``sandbox.history.backfill``, every
series at ``--step`` seconds, coarser than a real scrape to keep the backfill short; the CPU ``rate()``
window is widened to match), starts a real Prometheus on it (loopback, stopped by pid), then runs what
``aiops rightsize`` runs for every namespace (``workflow.report``: gather + analyse). Prints the total
time, the per-namespace times, how many containers got each status, and the number of Prometheus
queries, counted by a proxy around the client: one per figure per namespace, whatever the pod count.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _harness  # noqa: E402
from bench_scaling import CountingPrometheus  # noqa: E402

from sandbox import history  # noqa: E402
from sandbox.localprom import BinaryServer, start_prometheus, wait_for_series  # noqa: E402
from sandbox.server import SandboxCluster  # noqa: E402
from workers.integrations.kubernetes.client import Kube  # noqa: E402
from workers.integrations.prometheus.client import prometheus_client  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.workflows.rightsizing import workflow  # noqa: E402


def manifests(workloads: int, namespaces: int) -> str:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team-{n:02d}"}}
        for n in range(namespaces)
    ]
    for i in range(workloads):
        name, namespace = f"svc-{i:04d}", f"team-{i % namespaces:02d}"
        usage = {
            "sandbox.aiops.dev/usage-cpu": f"{40 + i % 200}m",
            "sandbox.aiops.dev/usage-memory": f"{80 + i % 300}Mi",
        }
        container = {
            "name": "app",
            "image": f"registry.example.com/{namespace}/{name}:1.0.0",
            "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        }
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}, "annotations": usage},
                        "spec": {"containers": [container]},
                    },
                },
            }
        )
    return yaml.safe_dump_all(docs)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--days", type=int, default=8, help="history backfilled (the analysis reads 7)")
    parser.add_argument("--step", type=int, default=300, help="history step of every series, seconds")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    print(f"machine: {_harness.machine()}")
    scenario = {
        "history": {"days": args.days, "step_seconds": args.step, "slow_step_seconds": args.step, "seed": 1}
    }
    with _harness.workdir("aiops-bench-rightsizing-", keep=args.keep) as work:
        (work / "scenario").mkdir()
        (work / "scenario" / "workload.yaml").write_text(manifests(args.workloads, args.namespaces))
        (work / "scenario" / "scenario.yaml").write_text(yaml.safe_dump(scenario))
        cluster = SandboxCluster.from_dir(work / "scenario").start()
        prometheus: BinaryServer | None = None
        try:
            target = cluster.url.removeprefix("http://")
            done = history.backfill(
                cluster.store, cluster.scenario, work / "prometheus" / "data", instance=target
            )
            print(
                f"backfill: {done.stats.samples} samples over {(done.end - done.start) / 86400:.1f} days "
                f"at a {args.step} s step; OpenMetrics {done.generate_s:.1f} s, "
                f"promtool {done.promtool_s:.1f} s"
            )
            prometheus = start_prometheus(
                work / "prometheus", [target], scrape_interval="15s", data_dir=done.data_dir
            )
            wait_for_series(prometheus, "kube_pod_owner", timeout=180, samples=2, window=f"{args.days}d")
            settings = Settings.model_validate(
                {
                    "prometheus": {"url": prometheus.url, "timeout_s": 120},
                    # Samples every --step seconds: rate() needs a window holding at least two of them.
                    "rightsizing": {"rate_window": f"{3 * args.step}s", "step_s": args.step},
                }
            )
            client = CountingPrometheus(prometheus_client(settings.prometheus))
            statuses: Counter[str] = Counter()
            per_namespace: list[float] = []
            with cluster.api_client() as api_client:
                kube = Kube(api_client, timeout_s=120)
                started = time.perf_counter()
                for n in range(args.namespaces):
                    began = time.perf_counter()
                    results, _ = workflow.report(kube, client, settings, f"team-{n:02d}")
                    per_namespace.append(time.perf_counter() - began)
                    statuses.update(c["status"] for r in results for c in r["containers"])
                total = time.perf_counter() - started
            print(
                f"analysed: {sum(statuses.values())} containers of {args.workloads} workloads "
                f"in {total:.1f} s "
                f"({args.namespaces} namespaces; per namespace max {max(per_namespace):.1f} s, "
                f"mean {sum(per_namespace) / len(per_namespace):.1f} s); statuses: "
                + ", ".join(f"{k} {v}" for k, v in statuses.most_common())
            )
            print(
                f"prometheus queries: {client.total} ({client.total / args.namespaces:.0f} per namespace, "
                f"{client.total / args.workloads:.2f} per workload)"
            )
        finally:
            if prometheus is not None:
                prometheus.stop()
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_harness.run(main))
