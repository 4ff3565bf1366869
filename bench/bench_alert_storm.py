"""Benchmark: an alert storm (10,000 repeats of one alert, sent concurrently) must make exactly one job.

Target (DESIGN "Targets"): 10,000 repeats of one alert make exactly one investigation.

    .venv/bin/python bench/bench_alert_storm.py [--repeats 10000] [--replicas 2] [--processes 4] [--threads 4]

Starts a private redis-server and ``--replicas`` receivers as ``aiops serve`` runs them (gunicorn,
gthread, default settings, a valid webhook token), all on 127.0.0.1. ``--processes`` client processes
with ``--threads`` threads each (one keep-alive HTTP/1.1 connection per thread) post the same
Alertmanager payload (one KubePodCrashLooping alert, same fingerprint and startsAt) ``--repeats``
times in all, spread round-robin over the replicas, all starting at once. No worker runs, so the
job stays in the ``alerts`` queue where it is counted. Exits non-zero when the count is not one.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import _harness as h
from rq import Queue

from receiver.payload import alertmanager_payload

PATH = "/webhooks/alertmanager"


def storm_payload(starts_at: str) -> bytes:
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": "checkout-7d9f8b6c5-x2k4p",
            "container": "app",
            "severity": "warning",
            "job": "kube-state-metrics",
        },
        "annotations": {"summary": "Pod shop/checkout-7d9f8b6c5-x2k4p (app) is in CrashLoopBackOff."},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph",
        "fingerprint": "5e3c1a2b9d8f7e61",
    }
    body = alertmanager_payload([alert], commonLabels=alert["labels"], commonAnnotations=alert["annotations"])
    return json.dumps(body).encode()


def _send(
    targets: list[tuple[str, int]], body: bytes, token: str, indices: range, out: list[dict[str, Any]]
) -> None:
    """Post ``body`` once per index, to targets[index % len], over one keep-alive connection per target."""
    connections: dict[int, http.client.HTTPConnection] = {}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    tally: Counter[str] = Counter()
    for index in indices:
        which = index % len(targets)
        try:
            conn = connections.get(which)
            if conn is None:
                conn = connections[which] = http.client.HTTPConnection(*targets[which], timeout=30)
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            tally[f"http_{response.status}"] += 1
            if response.status == 202:
                answer = json.loads(data)
                tally["enqueued"] += answer["enqueued"]
                tally["duplicates"] += answer["duplicates"]
        except (OSError, http.client.HTTPException) as exc:
            tally[f"error_{type(exc).__name__}"] += 1
            stale = connections.pop(which, None)
            if stale is not None:
                stale.close()
    for conn in connections.values():
        conn.close()
    out.append(dict(tally))


def client_process(
    targets: list[tuple[str, int]],
    body: bytes,
    token: str,
    indices: list[int],
    threads: int,
    start: Any,
    results: Any,
) -> None:
    shares = [indices[i::threads] for i in range(threads)]
    out: list[dict[str, Any]] = []
    workers = [
        threading.Thread(target=_send, args=(targets, body, token, share, out))  # type: ignore[arg-type]
        for share in shares
    ]
    start.wait()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total: Counter[str] = Counter()
    for tally in out:
        total.update(tally)
    results.put(dict(total))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10_000)
    parser.add_argument("--replicas", type=int, default=2, help="receiver processes (aiops serve)")
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="client threads per process")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    print(f"machine: {h.machine()}")
    with h.workdir("aiops-bench-storm-", args.keep) as workdir, contextlib.ExitStack() as stack:
        redis_url, store = h.start_redis(stack, workdir)
        env = h.child_env(
            REDIS_URL=redis_url,
            AIOPS_TOKENS_FILE=str(h.write_tokens(workdir)),
            PROMETHEUS_URL="http://127.0.0.1:9",
        )
        bases = [h.start_receiver(stack, workdir, env, f"receiver-{i}")[0] for i in range(args.replicas)]
        targets = [(urlsplit(b).hostname or "127.0.0.1", urlsplit(b).port or 80) for b in bases]
        print(f"receivers: {', '.join(bases)}; redis {redis_url}")
        print(
            f"storm: {args.repeats} POSTs of one alert, {args.processes} processes x {args.threads} threads, "
            f"round-robin over {args.replicas} replica(s)",
            flush=True,
        )
        body = storm_payload(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        ctx = multiprocessing.get_context("fork")
        start, results = ctx.Event(), ctx.Queue()
        everything = list(range(args.repeats))
        procs = [
            ctx.Process(
                target=client_process,
                args=(
                    targets,
                    body,
                    h.TOKENS["webhook"],
                    everything[i :: args.processes],
                    args.threads,
                    start,
                    results,
                ),
                daemon=True,
            )
            for i in range(args.processes)
        ]
        for proc in procs:
            proc.start()
        time.sleep(0.5)  # let every client process reach the start line
        began = time.perf_counter()
        start.set()
        tallies = [results.get(timeout=600) for _ in procs]
        elapsed = time.perf_counter() - began
        for proc in procs:
            proc.join(timeout=10)
        total: Counter[str] = Counter()
        for tally in tallies:
            total.update(tally)
        queue = Queue("alerts", connection=store)
        job_ids = queue.get_job_ids()
        counters = {k.decode(): int(v) for k, v in store.hgetall("aiops:counters").items()}
        print(f"\nsent {args.repeats} in {elapsed:.2f} s ({args.repeats / elapsed:.0f} req/s)")
        print(f"client tally: {dict(sorted(total.items()))}")
        print(f"jobs in the alerts queue: {len(job_ids)} {job_ids}")
        dedup, incidents = len(store.keys("aiops:dedup:*")), len(store.keys("aiops:incident:*"))
        print(f"dedup markers: {dedup}, incident markers: {incidents}")
        for base in bases:
            print(f"/metrics of {base}:")
            for metric in h.metric_lines(
                base,
                [
                    "aiops_alerts_received",
                    "aiops_alerts_duplicate",
                    "aiops_jobs_enqueued",
                    "aiops_queue_depth",
                ],
            ):
                print(f"  {metric}")
        ok = (
            len(job_ids) == 1
            and total.get("enqueued", 0) == 1
            and counters.get("jobs_enqueued_total|queue=alerts") == 1
            and counters.get("alerts_duplicate_total", 0) == counters.get("alerts_received_total", 0) - 1
        )
        answered = total.get("http_202", 0)
        received = counters.get("alerts_received_total", 0)
        duplicates = counters.get("alerts_duplicate_total", 0)
        enqueued = counters.get("jobs_enqueued_total|queue=alerts", 0)
        print(
            f"\nresult: {'PASS' if ok else 'FAIL'}: {len(job_ids)} job(s) for {answered} accepted repeats "
            f"({received} received, {duplicates} duplicates, {enqueued} enqueued); "
            f"{args.repeats - answered} not accepted"
        )
        return 0 if ok and answered == args.repeats else 1


if __name__ == "__main__":
    sys.exit(h.run(main))
