"""Comparison (US3): our right-sizing vs KRR's ``simple`` strategy vs a VPA-style recommender, each
backtested on the same backfilled history.

    .venv/bin/python bench/bench_rightsizing_compare.py [--days 8] [--seed 7]

One sandbox namespace of workloads with different shapes (flat, daily and weekly seasonality, spikes,
start-up peaks with restarts in the last day, an OOM episode, a sidecar, noise), ``--days`` of history
backfilled with the real promtool into a real Prometheus. Each approach sizes every container on the
window minus its last day (the fit); the last day is the check:

- ours: ``workers.workflows.rightsizing.recommend.size`` (p95 without start-up × 1.30, memory limit at
  the maximum × 1.30, CPU limit kept, memory never lowered after restarts);
- KRR simple: CPU request = p95 of CPU, no CPU limit; memory request = limit = max working set × 1.15;
- VPA-style: requests = p90 × 1.15 (CPU and memory), limits scaled to keep the current limit/request
  ratio, an OOM in the fit bumps memory to max(max + 100Mi, max × 1.2).

A container fails its check when the last day's working set went above its memory limit (OOM kill) or
its CPU above its CPU limit (throttling); ``under`` counts requests below the last day's p95 (the
scheduler would have packed the node too tightly). Prints one row per approach and one per container.
"""

from __future__ import annotations

import argparse
import sys
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
from workers.integrations.prometheus.queries import run_query  # noqa: E402
from workers.settings import Settings  # noqa: E402
from workers.spine import pricing  # noqa: E402
from workers.workflows.rightsizing import evidence, queries, recommend  # noqa: E402
from workers.workflows.rightsizing.model import Resources, WorkloadUsage  # noqa: E402

MI = 2**20
NS = "shop"
# name: (cpu usage, memory usage, history shape); every container requests 500m / 512Mi, limit 1Gi.
WORKLOADS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "flat": ("120m", "200Mi", {"cpu": {"daily": 0, "weekly": 0, "noise": 0.05}, "spikes": {"per_day": 0}}),
    "daily": ("150m", "220Mi", {"cpu": {"daily": 0.5, "weekly": 0}, "memory": {"daily": 0.15}}),
    "weekly": ("150m", "220Mi", {"cpu": {"daily": 0.2, "weekly": 0.35}, "memory": {"weekly": 0.15}}),
    "spiky": ("100m", "180Mi", {"spikes": {"per_day": 2, "minutes": 20, "cpu": 2.5, "memory": 1.25}}),
    "rare-spike": ("100m", "180Mi", {"spikes": {"per_day": 0.4, "minutes": 30, "cpu": 3.0, "memory": 1.45}}),
    "noisy": ("200m", "300Mi", {"cpu": {"noise": 0.25}, "memory": {"noise": 0.08}}),
    "boot-heavy": (
        "60m",
        "150Mi",
        {"startup": {"minutes": 4, "cpu": 3.0, "memory": 3.0}, "replaced": ["6d", "4d", "2d", "10h"]},
    ),
    "boot-weekly": (
        "60m",
        "150Mi",
        {
            "startup": {"minutes": 4, "cpu": 2.0, "memory": 2.2},
            "replaced": ["5d", "12h"],
            "spikes": {"per_day": 0},
        },
    ),
    "oom": ("100m", "200Mi", {"oom": {"at": "3d", "container": "app", "ramp_minutes": 60}}),
    "sidecar": (
        "180m",
        "250Mi",
        {"containers": {"logs": {"cpu": {"base": "15m"}, "memory": {"base": "40Mi", "noise": 0.05}}}},
    ),
}
BIG = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}


def manifests() -> str:
    docs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}]
    for name, (cpu, memory, shape) in WORKLOADS.items():
        containers = [{"name": "app", "image": f"registry.example.com/{name}:1", "resources": BIG}]
        annotations = {"sandbox.aiops.dev/usage-cpu.app": cpu, "sandbox.aiops.dev/usage-memory.app": memory}
        for extra, spec in (shape.get("containers") or {}).items():
            containers.append({"name": extra, "image": "registry.example.com/logs:1", "resources": BIG})
            annotations[f"sandbox.aiops.dev/usage-cpu.{extra}"] = spec["cpu"]["base"]
            annotations[f"sandbox.aiops.dev/usage-memory.{extra}"] = spec["memory"]["base"]
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NS},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}, "annotations": annotations},
                        "spec": {"containers": containers},
                    },
                },
            }
        )
    return yaml.safe_dump_all(docs)


def peer_queries(window: queries.Window) -> dict[str, str]:
    """What the peers read that we do not: raw (start-up included) p90/p95 of the fit, and the check's p95."""
    cpu, mem = queries.cpu_rate(NS, window), queries.memory(NS)
    fit_h, hold_h = (window.days - window.holdout_days) * 24, window.holdout_days * 24
    fit = f"[{fit_h}h:{window.step_s}s] offset {hold_h}h"
    check = f"[{hold_h}h:{window.step_s}s]"
    by = queries.BY
    out = {}
    for resource, expr in (("cpu", cpu), ("memory", mem)):
        for name, q in (("p90", 0.9), ("p95", 0.95)):
            out[f"raw_fit_{resource}_{name}"] = f"max by ({by}) (quantile_over_time({q}, {expr}{fit}))"
        out[f"check_{resource}_p95"] = f"max by ({by}) (quantile_over_time(0.95, {expr}{check}))"
    ours_too = queries.figure_queries(NS, window)
    out.update({k: ours_too[k] for k in ("pod_owner", "replicaset_owner")})  # pods → workloads
    return out


def ours(f: dict[str, float], current: Resources, settings: Settings) -> Resources:
    stable = not (f.get("restarts") or f.get("oom_kills"))
    usage = recommend.Usage(f["fit_cpu_p95"], f["fit_cpu_max"], f["fit_memory_p95"], f["fit_memory_max"])
    return recommend.size(usage, current, settings.rightsizing, stable).resources


def krr(f: dict[str, float], current: Resources) -> Resources:
    memory = f["fit_memory_max"] * 1.15
    return Resources(
        cpu_request=f["raw_fit_cpu_p95"], cpu_limit=None, memory_request=memory, memory_limit=memory
    )


def vpa(f: dict[str, float], current: Resources) -> Resources:
    cpu = f["raw_fit_cpu_p90"] * 1.15
    memory = f["raw_fit_memory_p90"] * 1.15
    if f.get("oom_kills"):
        peak = f["fit_memory_max"]
        memory = max(memory, peak + 100 * MI, peak * 1.2)

    def scaled(limit: float | None, request: float | None, new: float) -> float | None:
        return None if limit is None or not request else new * limit / request

    return Resources(
        cpu_request=cpu,
        cpu_limit=scaled(current.cpu_limit, current.cpu_request, cpu),
        memory_request=memory,
        memory_limit=scaled(current.memory_limit, current.memory_request, memory),
    )


def check(f: dict[str, float], res: Resources) -> dict[str, bool]:
    return {
        "oom": res.memory_limit is not None and f["check_memory_max"] > res.memory_limit,
        "throttled": res.cpu_limit is not None and f["check_cpu_max"] > res.cpu_limit,
        "under": (res.cpu_request or 0) < f["check_cpu_p95"]
        or (res.memory_request or 0) < f["check_memory_p95"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    print(f"machine: {_harness.machine()}")
    shapes = {f"{NS}/{name}": shape for name, (_, _, shape) in WORKLOADS.items()}
    scenario = {"history": {"days": args.days, "seed": args.seed, "workloads": shapes}}
    with _harness.workdir("aiops-bench-rightsizing-compare-", keep=args.keep) as work:
        (work / "scenario").mkdir()
        (work / "scenario" / "workload.yaml").write_text(manifests())
        (work / "scenario" / "scenario.yaml").write_text(yaml.safe_dump(scenario))
        cluster = SandboxCluster.from_dir(work / "scenario").start()
        prometheus: BinaryServer | None = None
        try:
            target = cluster.url.removeprefix("http://")
            done = history.backfill(
                cluster.store, cluster.scenario, work / "prometheus" / "data", instance=target
            )
            prometheus = start_prometheus(work / "prometheus", [target], data_dir=done.data_dir)
            wait_for_series(prometheus, "kube_pod_owner", timeout=120, samples=2, window=f"{args.days}d")
            settings = Settings.model_validate({"prometheus": {"url": prometheus.url, "timeout_s": 120}})
            client = prometheus_client(settings.prometheus)
            with cluster.api_client() as api_client:
                usages, _ = evidence.gather(Kube(api_client, timeout_s=60), client, NS, settings.rightsizing)
            window = evidence.window_of(settings.rightsizing)
            extra = {k: run_query(client, q) for k, q in peer_queries(window).items()}
            evidence.attribute(extra, usages)
            print_table(usages, settings)
        finally:
            if prometheus is not None:
                prometheus.stop()
            cluster.stop()
    return 0


def print_table(usages: list[WorkloadUsage], settings: Settings) -> None:
    approaches = {"ours": None, "KRR simple": krr, "VPA-style p90+15 %": vpa}
    totals = {name: {"oom": 0, "throttled": 0, "under": 0, "cpu": 0.0, "memory": 0.0} for name in approaches}
    current_cost = 0.0
    rows = []
    for usage in usages:
        for container in usage.containers:
            f = container.figures.values
            current_cost += (
                pricing.monthly(
                    container.current.cpu_request or 0,
                    container.current.memory_request or 0,
                    settings.scaling,
                )
                * usage.replicas
            )
            row = [f"{usage.name}/{container.name}"]
            for name, formula in approaches.items():
                res = (
                    ours(f, container.current, settings) if formula is None else formula(f, container.current)
                )
                outcome = check(f, res)
                for key in ("oom", "throttled", "under"):
                    totals[name][key] += int(outcome[key])
                totals[name]["cpu"] += (res.cpu_request or 0) * usage.replicas
                totals[name]["memory"] += (res.memory_request or 0) * usage.replicas
                flag = "OOM" if outcome["oom"] else ("throttled" if outcome["throttled"] else "ok")
                row.append(
                    f"{round((res.cpu_request or 0) * 1000)}m/{(res.memory_request or 0) / MI:.0f}Mi"
                    f" lim {(res.memory_limit or 0) / MI:.0f}Mi: {flag}{' under' if outcome['under'] else ''}"
                )
            rows.append(row)
    containers = len(rows)
    print(f"\n{containers} containers; current requests cost {current_cost:.2f} USD/month\n")
    print(
        "| approach | OOM in the held-out day | throttled | request under the day's p95 | CPU requested | "
        "memory requested | USD/month |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, t in totals.items():
        cost = pricing.monthly(t["cpu"], t["memory"], settings.scaling)
        print(
            f"| {name} | {t['oom']} / {containers} | {t['throttled']} | {t['under']} | "
            f"{t['cpu']:.2f} cores | {t['memory'] / 2**30:.2f} GiB | {cost:.2f} |"
        )
    print("\n| container | " + " | ".join(approaches) + " |")
    print("|---|" + "---|" * len(approaches))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    raise SystemExit(_harness.run(main))
