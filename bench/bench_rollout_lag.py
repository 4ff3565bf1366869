"""Benchmark (US4): from a failing sample in Prometheus to the rollout gate's decision (target < 5 s).

    .venv/bin/python bench/bench_rollout_lag.py [--rounds 5] [--scrape-interval 1s] [--check-every 2]

Starts its own redis-server, the sandbox cluster (the shop of tests/support/rollouts.py: six checkout
replicas, image 2.1.0 answers 12 % 5xx, a pod Ready 4 s after it starts), a real Prometheus scraping it
every ``--scrape-interval`` and one ``aiops worker`` process (RQ forking worker with its scheduler, as
the product runs it). Each round rolls checkout out to the bad image, starts a gate as
``POST /api/v1/rollouts`` does (``gate.start``), and waits for the decision. Then it asks Prometheus, with
a range query at a 50 ms step, for the first moment the gate's own query (the new ReplicaSet's 5xx share
over 5 %) held: that is when the failing sample was in Prometheus. The lag is the failing round's time
minus that moment. Between rounds the rollout is put back by hand (paused cleared, first image).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _harness  # noqa: E402
from kubernetes import client  # noqa: E402

from rules.registry import RuleRegistry  # noqa: E402
from sandbox.localprom import start_prometheus, wait_for_series  # noqa: E402
from sandbox.server import SandboxCluster  # noqa: E402
from tests.support.rollouts import FIRST, MANIFESTS, SCENARIO  # noqa: E402
from workers.integrations.kubernetes.client import Kube  # noqa: E402
from workers.settings import DEFAULT_RULES_DIR, Settings  # noqa: E402
from workers.spine.context import Context  # noqa: E402
from workers.workflows.rollout_gate import gate as engine  # noqa: E402
from workers.workflows.rollout_gate import queries  # noqa: E402
from workers.workflows.rollout_gate.model import Trigger  # noqa: E402

FINAL = {"halted", "continued", "inconclusive", "aborted"}
BAD = "registry.example.com/shop/checkout:2.1.{round}"
"""A new bad image each round: a reused one would bring back its ReplicaSet (and its recent series)."""


def _scenario(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop.yaml").write_text(MANIFESTS)
    (folder / "scenario.yaml").write_text(SCENARIO.replace('"shop/checkout:2.1.0"', '"shop/checkout:2.1.*"'))
    return folder


def _rules(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rule = yaml.safe_load((DEFAULT_RULES_DIR / "rollout-gate.yaml").read_text())
    rule["rollout"].update({"window": "60s", "interval": "2s"})
    (directory / "rollout-gate.yaml").write_text(yaml.safe_dump(rule, sort_keys=False))
    return directory


def _set_image(apps: client.AppsV1Api, image: str) -> None:
    patch = {
        "spec": {"paused": False, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
    }
    apps.patch_namespaced_deployment("checkout", "shop", patch)


def _wait_ready(apps: client.AppsV1Api, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dep = apps.read_namespaced_deployment("checkout", "shop")
        want = dep.spec.replicas
        if (dep.status.updated_replicas, dep.status.available_replicas, dep.status.replicas) == (want,) * 3:
            return
        time.sleep(0.2)
    raise TimeoutError("checkout did not finish its rollout")


def _first_true(prom_url: str, query: str, start: float, end: float) -> float | None:
    answer = httpx.get(
        f"{prom_url}/api/v1/query_range",
        params={"query": query, "start": start, "end": end, "step": "0.05"},
        timeout=30,
    ).json()
    points = [float(t) for series in answer["data"]["result"] for t, _ in series["values"]]
    return min(points) if points else None


def one_round(
    context: Context, apps: client.AppsV1Api, prom_url: str, max_ratio: float, index: int
) -> dict[str, Any]:
    started_at = time.time()
    _set_image(apps, BAD.format(round=index))
    gate = engine.start(context, "shop", "checkout", Trigger.api, requested_by="bench")
    store = engine.store_of(context)
    deadline = time.monotonic() + 120
    while True:
        found = store.get(gate.id)
        if found.state in FINAL:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate.id} is still {found.state}")
        time.sleep(0.2)
    failing = [r for r in found.rounds if r.verdict == "failing"]
    if found.state != "halted" or not failing:
        raise RuntimeError(f"gate {gate.id} ended {found.state}: {found.reason}")
    decided = datetime.fromisoformat(failing[0].at).timestamp()
    labels = queries.labels_for("shop", "checkout", found.new_replicaset, found.new_hash, found.old_hash)
    rendered = queries.rendered(found.config, labels)
    condition = f"({rendered['error_rate']}) / ({rendered['request_rate']}) > {max_ratio}"
    sample = _first_true(prom_url, condition, started_at, decided + 1)
    _set_image(apps, FIRST)
    _wait_ready(apps)
    return {
        "gate": gate.id,
        "lag_s": None if sample is None else decided - sample,
        "rollout_to_decision_s": decided - started_at,
        "updated_replicas": failing[0].updated_replicas,
        "checks": found.checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrape-interval", default="1s")
    parser.add_argument("--check-every", type=float, default=2.0, help="rollouts.check_every_s")
    args = parser.parse_args()
    print(f"machine: {_harness.machine()}")
    with contextlib.ExitStack() as stack, _harness.workdir("bench-rollout-") as work:
        redis_url, connection = _harness.start_redis(stack, work)
        cluster = SandboxCluster.from_dir(_scenario(work / "scenario")).start()
        stack.callback(cluster.stop)
        kubeconfig = cluster.write_kubeconfig(work / "kubeconfig")
        prometheus = start_prometheus(
            work / "prom", [cluster.url.removeprefix("http://")], scrape_interval=args.scrape_interval
        )
        stack.callback(prometheus.stop)
        rules_dir = _rules(work / "rules")
        env = _harness.child_env(
            REDIS_URL=redis_url,
            PROMETHEUS_URL=prometheus.url,
            KUBECONFIG=str(kubeconfig),
            AIOPS_RULES_DIR=str(rules_dir),
            AIOPS_ROLLOUTS_CHECK_EVERY_S=str(args.check_every),
            AIOPS_LOGGING_LEVEL="WARNING",
        )
        _harness.start_workers(stack, work, env, 1, connection)
        settings = Settings.model_validate(
            {
                "redis": {"url": redis_url},
                "prometheus": {"url": prometheus.url},
                "rules": {"dir": str(rules_dir)},
                "rollouts": {"check_every_s": args.check_every},
            }
        )
        context = Context(
            settings=settings,
            redis=connection,
            rules=RuleRegistry(rules_dir),
            kube_factory=lambda: Kube(cluster.api_client()),
        )
        apps = client.AppsV1Api(cluster.api_client())
        wait_for_series(prometheus, 'http_requests_total{namespace="shop"}', samples=3, window="1m")
        _wait_ready(apps)
        results = []
        for index in range(args.rounds):
            result = one_round(context, apps, prometheus.url, 0.05, index)
            results.append(result)
            lag = result["lag_s"]
            print(
                f"round {index + 1}: gate {result['gate']} halted with {result['updated_replicas']} updated "
                f"replicas, {result['rollout_to_decision_s']:.2f} s after the rollout began; "
                f"lag from the failing sample in Prometheus: {'n/a' if lag is None else f'{lag:.2f} s'}"
            )
        lags = sorted(r["lag_s"] for r in results if r["lag_s"] is not None)
        if lags:
            print(
                f"scrape interval {args.scrape_interval}, check every {args.check_every} s: lag "
                f"median {statistics.median(lags):.2f} s, max {lags[-1]:.2f} s over {len(lags)} rounds "
                f"(target < 5 s: {'met' if lags[-1] < 5 else 'missed'})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(_harness.run(main))
