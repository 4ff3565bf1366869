"""Benchmark: alert received -> proposal parked (built-in path, sandbox cluster, real Prometheus).

Target (DESIGN "Targets"): p95 under 1 s (the specification asks for 2 s).

    .venv/bin/python bench/bench_alert_to_proposal.py [--pods 200] [--replicas 1] [--workers 1] [--rate 10]
        [--rounds 2]

Everything runs on 127.0.0.1 and is stopped on exit or Ctrl-C:

- a bench-only scenario generated into a temp dir: ``--pods`` pods in deployments of ``--replicas`` each in
  namespace ``bench`` whose pods crash-loop (exit 1, a few kinds of start-up error in the log), in
  the manifest format of sandbox/scenarios/*; served by ``aiops sandbox serve`` in its own process;
- a real Prometheus (``prometheus`` binary) scraping the sandbox's kube-state-metrics/cAdvisor series;
- a private redis-server; the receiver as ``aiops serve`` (gunicorn); ``--workers`` real
  ``aiops worker`` processes (RQ forking workers on all queues), as the product runs them;
- the default rules (rules/library) copied without their per-target cooldown.

Per round, two phases, each on a flushed Redis with fresh workers (after one warm-up alert):
``steady`` posts one alert per pod at ``--rate`` alerts/s (one webhook request each), ``burst`` posts
all of them in one Alertmanager payload. Each alert is for a different pod; the alerts about pods of one
deployment are one incident with one proposal, so each deployment is one measurement: the first of its
alerts' proposals to exist. For each, the proposal's ``created_at``
(set by the worker) is compared with the alert's ``receivedAt`` (set by the receiver, read back from
the RQ job) - both from this machine's clock - and with the time the client got the 202.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _harness as h
import httpx
import redis
import yaml
from rq.exceptions import NoSuchJobError
from rq.job import Job

from receiver.payload import alertmanager_payload
from sandbox.localprom import start_prometheus
from workers.spine.investigation import investigation_id

NAMESPACE = "bench"
RULE = "pod-crashloop"
LOGS = [
    "2026-11-25T10:00:01.412Z INFO  starting {name} 2.4.1 (pid 1)\n"
    "2026-11-25T10:00:01.416Z ERROR Error: required environment variable DATABASE_URL is not set\n"
    "2026-11-25T10:00:01.416Z INFO  shutting down: configuration invalid, exit status 1\n",
    "2026-11-25T10:00:01.412Z INFO  starting {name} 2.4.1 (pid 1)\n"
    "2026-11-25T10:00:02.903Z ERROR dial tcp 10.96.12.40:5432: connect: connection refused\n"
    "2026-11-25T10:00:02.904Z FATAL cannot reach the database, giving up\n",
    "panic: runtime error: invalid memory address or nil pointer dereference\n"
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x6f2b1c]\n\n"
    "goroutine 1 [running]:\nmain.(*Server).Start(0x0)\n\t/src/server.go:88 +0x1c\nmain.main()\n"
    "\t/src/main.go:31 +0x85\nexit status 2\n",
]


# --- the generated scenario ---------------------------------------------------------------------------


def _deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "labels": {"app": name},
            "creationTimestamp": "2026-11-20T14:02:11Z",
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/{NAMESPACE}/{name}:2.4.1",
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "env": [{"name": "LOG_LEVEL", "value": "info"}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "128Mi"},
                                "limits": {"memory": "256Mi"},
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/healthz", "port": "http"},
                                "periodSeconds": 10,
                            },
                        }
                    ]
                },
            },
        },
    }


def write_scenario(directory: Path, count: int, replicas: int = 1) -> list[str]:
    """``count`` crash-looping deployments (plus a namespace and two nodes); returns the deployment names."""
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"svc-{index:03d}" for index in range(count)]
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"node-{n}", "labels": {"kubernetes.io/hostname": f"node-{n}"}},
            "status": {
                "capacity": {"cpu": "16", "memory": "64Gi", "pods": "250"},
                "allocatable": {"cpu": "15800m", "memory": "62Gi", "pods": "250"},
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}
                ],
            },
        }
        for n in (1, 2)
    ]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    (directory / "cluster.yaml").write_text(yaml.safe_dump_all([namespace, *nodes], sort_keys=False))
    (directory / "workloads.yaml").write_text(
        yaml.safe_dump_all([_deployment(name, replicas) for name in names], sort_keys=False)
    )
    scenario = {
        "description": f"{count} deployments in {NAMESPACE}, every pod crash-looping at start-up.",
        "restart_period_s": 10,
        "outcomes": [
            {
                "deployment": f"{NAMESPACE}/{name}",
                "container": "app",
                "cases": [
                    {
                        "state": "crashloop",
                        "exit_code": 2 if index % 3 == 2 else 1,
                        "usage": {"memory": "40Mi", "cpu": "10m"},
                        "log": LOGS[index % 3].format(name=name),
                    }
                ],
            }
            for index, name in enumerate(names)
        ],
    }
    (directory / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    return names


# --- the cluster: sandbox and Prometheus -------------------------------------------------------------


@dataclass
class Cluster:
    sandbox_url: str
    prometheus: Any
    kubeconfig: Path
    pods: list[dict[str, Any]]
    """The pods in ``NAMESPACE`` as the sandbox lists them."""


def start_cluster(
    stack: contextlib.ExitStack,
    workdir: Path,
    scenario: Path,
    pods: int,
    scrape_interval: str,
    timeout: float = 120.0,
) -> Cluster:
    """``aiops sandbox serve`` on ``scenario`` and a real Prometheus scraping it, once it has all ``pods``;
    ``timeout`` seconds for each of the two (the sandbox's start-up grows with the square of its pods)."""
    port = h.free_port()
    kubeconfig = workdir / "kubeconfig"
    sandbox_argv = [sys.executable, "-m", "receiver.cli", "sandbox", "serve", str(scenario)]
    sandbox_argv += ["--port", str(port), "--kubeconfig-out", str(kubeconfig)]
    sandbox = h.spawn(stack, "sandbox", sandbox_argv, workdir, env=h.child_env())
    sandbox_url = f"http://127.0.0.1:{port}"
    h.wait_http(sandbox_url + "/healthz", sandbox, timeout=timeout)
    prometheus = start_prometheus(workdir / "prometheus", [f"127.0.0.1:{port}"], scrape_interval)
    stack.callback(prometheus.stop)
    want = f'count(kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}"}})'
    deadline = time.monotonic() + timeout
    while True:
        result = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": want}, timeout=5).json()
        series = result["data"]["result"]
        if series and int(float(series[0]["value"][1])) >= pods:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"Prometheus has not scraped the {pods} pods after {timeout:.0f} s")
        time.sleep(0.5)
    listed = httpx.get(
        f"{sandbox_url}/api/v1/namespaces/{NAMESPACE}/pods",
        headers={"Authorization": "Bearer sandbox-admin"},
        timeout=30,
    ).json()["items"]
    return Cluster(sandbox_url, prometheus, kubeconfig, listed)


def responder_env(workdir: Path, redis_url: str, cluster: Cluster) -> dict[str, str]:
    """The environment of the receiver and the workers: this Redis, the cluster, rules without cooldown."""
    return h.child_env(
        REDIS_URL=redis_url,
        PROMETHEUS_URL=cluster.prometheus.url,
        KUBECONFIG=str(cluster.kubeconfig),
        AIOPS_RULES_DIR=str(h.rules_without_cooldown(workdir / "rules")),
        AIOPS_TOKENS_FILE=str(h.write_tokens(workdir)),
    )


# --- alerts, posting and collecting ------------------------------------------------------------------


def crash_alert(pod: str, starts_at: str, tag: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": NAMESPACE,
            "pod": pod,
            "container": "app",
            "severity": "warning",
            "job": "kube-state-metrics",
        },
        "annotations": {"summary": f"Pod {NAMESPACE}/{pod} (app) is in waiting state (CrashLoopBackOff)."},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": f"{tag}-{pod}",
    }


def post(http: httpx.Client, alerts: list[dict[str, Any]]) -> float:
    """Post ``alerts`` in one payload; returns the wall-clock time of the 202."""
    answer = http.post(
        "/webhooks/alertmanager",
        json=alertmanager_payload(
            alerts, commonLabels={"alertname": "KubePodCrashLooping", "namespace": NAMESPACE}
        ),
        headers=h.auth("webhook"),
    )
    if answer.status_code != 202 or answer.json()["enqueued"] != len(alerts):
        raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
    return time.time()


def pid_of(alert: dict[str, Any]) -> str:
    return f"p-{investigation_id(RULE, alert)}"


def wait_for_proposals(
    store: redis.Redis, groups: dict[str, list[dict[str, Any]]], timeout: float
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Wait until every group (a deployment's alerts) has a proposal; returns each group's alert that has
    it, and the groups still without one at the timeout."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while True:
        pipe = store.pipeline(transaction=False)
        waiting = [
            (group, alert) for group, alerts in groups.items() if group not in found for alert in alerts
        ]
        for _, alert in waiting:
            pipe.exists(f"aiops:proposal:{pid_of(alert)}")
        for (group, alert), there in zip(waiting, pipe.execute(), strict=True):
            if there and group not in found:
                found[group] = alert
        missing = [group for group in groups if group not in found]
        if not missing or time.monotonic() > deadline:
            return found, missing
        time.sleep(0.2)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def measure(store: redis.Redis, alert: dict[str, Any], got_202: float) -> dict[str, Any]:
    """Timings of one alert, from the proposal, its RQ job and its audit record."""
    inv = investigation_id(RULE, alert)
    doc = json.loads(store.hget(f"aiops:proposal:p-{inv}", "doc") or b"{}")
    job = Job.fetch(f"investigate-{inv}", connection=store)
    received = _when(job.args[0]["receivedAt"])
    created = _when(doc["created_at"])
    entries: dict[str, datetime] = {}
    for raw in store.lrange(f"aiops:record:r-{inv}", 0, -1):
        entry = json.loads(raw)
        entries.setdefault(entry["kind"], _when(entry["at"]))
    first = entries.get("alert_received", created)
    evidence = entries.get("evidence", created)
    return {
        "total": (created - received).total_seconds(),
        "from_202": created.timestamp() - got_202,
        "enqueue": ((job.enqueued_at or received) - received).total_seconds(),
        "queue_wait": ((job.started_at or first) - (job.enqueued_at or received)).total_seconds(),
        "job_start": (first - (job.started_at or first)).total_seconds(),
        "evidence": (evidence - first).total_seconds(),
        "diagnose_and_park": (created - evidence).total_seconds(),
        "job_run": ((job.ended_at or created) - (job.started_at or first)).total_seconds(),
        "category": (doc.get("diagnosis") or {}).get("category"),
        "action": (doc.get("action") or {}).get("type"),
    }


def explain_missing(store: redis.Redis, groups: dict[str, list[dict[str, Any]]], missing: list[str]) -> None:
    for group in missing[:5]:
        inv = pid_of(groups[group][0]).removeprefix("p-")
        pid = f"p-{inv}"
        entries = [json.loads(raw)["kind"] for raw in store.lrange(f"aiops:record:r-{inv}", 0, -1)]
        status: str  # a JobStatus (a str), or why there is none
        try:
            status = Job.fetch(f"investigate-{inv}", connection=store).get_status()
        except NoSuchJobError:
            status = "no job"
        print(f"  missing {pid}: job {status}; record {entries}")


def run_phase(
    phase: str,
    args: argparse.Namespace,
    stack_env: dict[str, Any],
    pods: list[str],
    warm_pod: str,
    owners: dict[str, str],
) -> list[dict[str, Any]]:
    store: redis.Redis = stack_env["store"]
    http: httpx.Client = stack_env["http"]
    store.flushall()
    tag = f"{phase}{stack_env['round']}"
    starts_at = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.ExitStack() as phase_stack:
        h.start_workers(phase_stack, stack_env["workdir"], stack_env["env"], args.workers, store)
        warm = crash_alert(warm_pod, starts_at, f"warm-{tag}")
        post(http, [warm])
        if wait_for_proposals(store, {"warm": [warm]}, 60)[1]:
            raise RuntimeError("the warm-up alert made no proposal in 60 s; see the worker logs (--keep)")
        while store.llen("rq:queue:advice"):  # let the warm-up's advice job finish too
            time.sleep(0.05)
        alerts = [crash_alert(pod, starts_at, tag) for pod in pods]
        sent: list[float] = []
        depth = 0
        began = time.monotonic()
        if phase == "steady":
            for index, alert in enumerate(alerts):
                delay = began + index / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                sent.append(post(http, [alert]))
                depth = max(depth, store.llen("rq:queue:alerts"))
        else:
            sent = [post(http, alerts)] * len(alerts)
            depth = store.llen("rq:queue:alerts")
        posted_s = time.monotonic() - began
        groups: dict[str, list[dict[str, Any]]] = {}
        got_202: dict[str, float] = {}
        for alert, got in zip(alerts, sent, strict=True):
            groups.setdefault(owners[alert["labels"]["pod"]], []).append(alert)
            got_202[alert["fingerprint"]] = got
        found, missing = wait_for_proposals(store, groups, args.timeout)
        drained_s = time.monotonic() - began
        if missing:
            print(f"  !! {len(missing)} proposals missing after {args.timeout:.0f} s")
            explain_missing(store, groups, missing)
        results = [measure(store, alert, got_202[alert["fingerprint"]]) for alert in found.values()]
    report(phase, stack_env["round"], results, posted_s, drained_s, len(groups))
    print(f"  deepest alerts queue seen while posting: {depth}", flush=True)
    return results


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"p50 {h.percentile(ordered, 50) * 1000:7.0f} ms  p95 {h.percentile(ordered, 95) * 1000:7.0f} ms  "
        f"max {ordered[-1] * 1000:7.0f} ms"
        if ordered
        else "no values"
    )


def report(
    phase: str, round_: int, results: list[dict[str, Any]], posted: float, drained: float, n: int
) -> None:
    print(
        f"round {round_} {phase:<6}: {len(results)}/{n} proposals; posted in {posted:.2f} s, all parked "
        f"{drained:.2f} s after the first post ({len(results) / drained:.1f} proposals/s)"
    )
    if not results:
        return
    print(f"  alert receivedAt -> proposal created_at : {summary([r['total'] for r in results])}")
    print(f"  client got the 202 -> proposal created : {summary([r['from_202'] for r in results])}")
    parts = ("enqueue", "queue_wait", "job_start", "evidence", "diagnose_and_park", "job_run")
    means = "  ".join(f"{p} {1000 * sum(r[p] for r in results) / len(results):.0f}" for p in parts)
    print(f"  mean ms: {means}")
    print(
        f"  median ms: evidence {1000 * sorted(r['evidence'] for r in results)[len(results) // 2]:.0f}, "
        f"diagnose_and_park {1000 * sorted(r['diagnose_and_park'] for r in results)[len(results) // 2]:.0f}"
    )
    kinds = Counter(f"{r['category']}/{r['action']}" for r in results)
    print(f"  proposals: {dict(kinds)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200, help="crash-looping pods, one alert each")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="pods per deployment (one incident each)",
    )
    parser.add_argument("--workers", type=int, default=1, help="aiops worker processes (default 1)")
    parser.add_argument("--rate", type=float, default=10.0, help="alerts per second in the steady phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--phases", default="steady,burst")
    parser.add_argument("--scrape-interval", default="5s", help="Prometheus scrape interval (default 5s)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a phase's proposals"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    print(f"machine: {h.machine()}")
    with h.workdir("aiops-bench-a2p-", args.keep) as workdir, contextlib.ExitStack() as stack:
        deployments = -(-args.pods // args.replicas)
        names = write_scenario(workdir / "scenario", deployments + 1, args.replicas)
        cluster = start_cluster(
            stack, workdir, workdir / "scenario", len(names) * args.replicas, args.scrape_interval
        )
        sandbox_url, prometheus, listed = cluster.sandbox_url, cluster.prometheus, cluster.pods
        owners = {pod["metadata"]["name"]: pod["metadata"]["labels"]["app"] for pod in listed}
        warm_pod = next(pod for pod, app in owners.items() if app == names[-1])
        pods = sorted(pod for pod, app in owners.items() if app != names[-1])[: args.pods]
        redis_url, store = h.start_redis(stack, workdir)
        env = responder_env(workdir, redis_url, cluster)
        receiver, _ = h.start_receiver(stack, workdir, env)
        http = stack.enter_context(httpx.Client(base_url=receiver, timeout=30))
        print(
            f"sandbox {sandbox_url} ({len(listed)} pods in {NAMESPACE}), Prometheus {prometheus.url} "
            f"(scrape {args.scrape_interval}), receiver {receiver}, redis {redis_url}, "
            f"{args.workers} aiops worker(s)",
            flush=True,
        )
        shared = {"store": store, "http": http, "workdir": workdir, "env": env}
        everything: dict[str, list[dict[str, Any]]] = {}
        for round_ in range(1, args.rounds + 1):
            for phase in args.phases.split(","):
                shared["round"] = round_
                results = run_phase(phase, args, shared, pods, warm_pod, owners)
                everything.setdefault(phase, []).extend(results)
                time.sleep(1)
    print("\nall rounds (target: p95 < 1 s; specification: 2 s):")
    for phase, results in everything.items():
        totals = [r["total"] for r in results]
        print(f"  {phase:<6} receivedAt -> created_at: {summary(totals)}  (n={len(results)})")
    return 0


if __name__ == "__main__":
    sys.exit(h.run(main))
