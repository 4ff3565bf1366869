"""Benchmark: webhook throughput of the receiver vs a bare Flask JSON endpoint, same server, same payload.

Target (DESIGN "Targets"): receiver >= 70 % of bare Flask's requests/s; p99 < 50 ms for a 50-alert payload.

    .venv/bin/python bench/bench_ingest.py [--duration 10] [--connections 8] [--threads 1] [--rounds 2]

Needs ``wrk`` (``apt-get install -y wrk``) and ``redis-server``. Everything runs on 127.0.0.1 and is
stopped on exit or Ctrl-C:

- a private redis-server on a free port;
- the receiver as ``aiops serve`` runs it (``python -m receiver.cli serve``: gunicorn, gthread worker,
  ``settings.server.workers`` x ``settings.server.threads``, default rules, a valid webhook token);
- the baseline: this file with ``--serve-baseline``, a Flask app whose one POST endpoint parses the
  JSON body and answers 202, under a gunicorn application with exactly the same settings;
- ``wrk`` with a generated Lua script that builds Alertmanager v4 payloads (KubePodCrashLooping for
  namespace shop, matching rules/library/pod-crashloop.yaml).

- with ``--intake inline,deferred`` (the default), a second receiver with ``alerts.intake: deferred``
  (``deferred`` in the tables): it validates, appends the payload to the Redis inbox in one script call
  and answers; afterwards the bench drains what it appended in this process (``workers.spine.inbox``,
  one drainer, as one worker would) and reports the drain rate.

Cases per payload size (1 and 50 alerts):
- ``new``: every alert of every request is distinct (fingerprint and pod vary), so each one goes
  through validation, rule matching, the dedup/incident WATCH + MULTI and an RQ enqueue;
- ``dup``: one payload sent again and again after a priming request, so every alert is a duplicate
  (validation, matching, the WATCH + MGET, counters; nothing enqueued).
No worker runs, so the jobs stay queued; Redis is flushed between cases. ``deferred`` is measured on
``new`` only (a re-send costs it the same append).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _harness as h
import httpx
import redis

from receiver.payload import alertmanager_payload
from workers.integrations.redis.connection import as_text

PATH = "/webhooks/alertmanager"


# --- the baseline server ------------------------------------------------------------------------------


def serve_baseline(port: int) -> None:
    """A bare Flask JSON endpoint under gunicorn with the receiver's settings (see receiver.runtime.serve)."""
    from flask import Flask, jsonify, request

    from receiver.runtime import gunicorn_application
    from workers.settings import load_settings

    settings = load_settings()
    app = Flask("baseline")

    @app.post(PATH)
    def webhook() -> Any:
        data = request.get_json()
        return jsonify({"received": len(data.get("alerts", []))}), 202

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    # Exactly the server `aiops serve` runs, so only the application differs.
    gunicorn_application(settings, "127.0.0.1", port, lambda: app).run()


# --- payloads and the wrk script ----------------------------------------------------------------------

MARK = "@ID@"


def alert_template(starts_at: str) -> str:
    """One KubePodCrashLooping alert as JSON, with ``@ID@`` where the per-alert id goes."""
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": f"checkout-{MARK}",
            "container": "app",
            "severity": "warning",
            "job": "kube-state-metrics",
            "instance": "10.0.0.21:8080",
            "prometheus": "monitoring/k8s",
        },
        "annotations": {
            "summary": "Pod is crash looping.",
            "description": f"Pod shop/checkout-{MARK} (app) is in waiting state (reason: CrashLoopBackOff).",
            "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.local/graph?g0.expr=max_over_time%28kube_pod_container_status",
        "fingerprint": MARK,
    }
    return json.dumps(alert, separators=(",", ":"))


def payload_parts() -> tuple[str, str]:
    """The JSON before and after the alerts array."""
    common = {"alertname": "KubePodCrashLooping", "namespace": "shop", "severity": "warning"}
    body = alertmanager_payload(
        [],
        status="firing",
        groupKey='{}:{alertname="KubePodCrashLooping"}',
        groupLabels={"alertname": "KubePodCrashLooping"},
        commonLabels=common,
    )
    body["alerts"] = ["@ALERTS@"]  # the alerts go in as text, built per request by the wrk script
    head, tail = json.dumps(body, separators=(",", ":")).split('"@ALERTS@"')
    return head, tail


def payload(alerts: int, tag: str, starts_at: str) -> bytes:
    head, tail = payload_parts()
    template = alert_template(starts_at)
    items = [template.replace(MARK, f"{tag}-{i}") for i in range(1, alerts + 1)]
    return (head + ",".join(items) + tail).encode()


def lua_literal(text: str) -> str:
    return "[==[" + text + "]==]"


def wrk_script(alerts: int, mode: str, tag: str, starts_at: str, token: str) -> str:
    """A wrk script: ``new`` builds distinct alerts per request, ``dup`` repeats one payload."""
    head, tail = payload_parts()
    fixed = payload(alerts, tag, starts_at).decode()
    return f"""
local mode = "{mode}"
local alerts = {alerts}
local tag = "{tag}"
local head = {lua_literal(head)}
local tail = {lua_literal(tail)}
local template = {lua_literal(alert_template(starts_at))}
local fixed = {lua_literal(fixed)}
local headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}}
local counter = 0
local fixed_request = nil
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end

function init(args)
  fixed_request = wrk.format("POST", "{PATH}", headers, fixed)
end

function request()
  if mode == "dup" then
    return fixed_request
  end
  counter = counter + 1
  local items = {{}}
  for i = 1, alerts do
    local id = tag .. "-" .. tid .. "-" .. counter .. "-" .. i
    items[i] = string.gsub(template, "{MARK}", id)
  end
  return wrk.format("POST", "{PATH}", headers, head .. table.concat(items, ",") .. tail)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "mean_us": %.1f}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def run_wrk(
    url: str, script: Path, duration: float, connections: int, threads: int, timeout_s: int = 5
) -> dict[str, Any]:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
        url + PATH,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCHJSON "))
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            return result
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")


# --- the runs -----------------------------------------------------------------------------------------


def prime(url: str, body: bytes) -> None:
    headers = {**h.auth("webhook"), "Content-Type": "application/json"}
    answer = httpx.post(url + PATH, content=body, headers=headers, timeout=10)
    if answer.status_code != 202:
        raise RuntimeError(f"priming request got {answer.status_code}: {answer.text}")


def measure(
    server: str,
    url: str,
    workdir: Path,
    store: redis.Redis,
    alerts: int,
    mode: str,
    args: argparse.Namespace,
    latency: bool = False,
) -> dict[str, Any]:
    starts_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    tag = secrets.token_hex(4)
    script = workdir / f"{server}-{alerts}-{mode}-{tag}.lua"
    script.write_text(wrk_script(alerts, mode, tag, starts_at, h.TOKENS["webhook"]))
    store.flushall()
    if mode == "dup":
        prime(url, payload(alerts, tag, starts_at))
    before = {as_text(k): int(v) for k, v in store.hgetall("aiops:counters").items()}
    connections = args.latency_connections if latency else args.connections
    result = run_wrk(url, script, args.duration, connections, min(args.threads, connections))
    after = {as_text(k): int(v) for k, v in store.hgetall("aiops:counters").items()}
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    result.update(
        server=server,
        alerts=alerts,
        mode=mode,
        connections=connections,
        counters=delta,
        queued=store.llen("rq:queue:alerts"),
        inbox=store.llen("aiops:intake:inbox"),
    )
    return result


def drain_rate(redis_url: str, alerts: int) -> dict[str, float]:
    """Drain what the deferred receiver appended, in this process with one drainer, as a worker would:
    entries and alerts per second (the investigations and fan-out jobs it queues stay queued)."""
    from rules.registry import RuleRegistry
    from workers.settings import DEFAULT_RULES_DIR, Settings
    from workers.spine import inbox
    from workers.spine.context import Context

    settings = Settings.model_validate({"redis": {"url": redis_url}})
    connection = redis.Redis.from_url(redis_url)
    context = Context(settings=settings, redis=connection, rules=RuleRegistry(DEFAULT_RULES_DIR))
    waiting = connection.llen(inbox.INBOX)
    started = time.perf_counter()
    done, total = inbox.drain(context, slice_s=3600)
    elapsed = time.perf_counter() - started
    connection.close()
    assert done == waiting and total.received == waiting * alerts, f"drained {done} of {waiting}: {total}"
    assert total.enqueued == total.received, f"not all drained alerts were queued: {total}"
    return {
        "entries": done,
        "seconds": elapsed,
        "entries_s": done / elapsed,
        "alerts_s": done * alerts / elapsed,
    }


def check(result: dict[str, Any]) -> None:
    """The receiver must have done what it says: every alert new (enqueued) or every one a duplicate."""
    bad = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    if bad:
        print(f"  !! {bad} errors (socket or HTTP >= 400): {result}", flush=True)
    if result["server"] == "deferred":
        appended = result["inbox"]
        assert result["requests"] <= appended <= result["requests"] + result["connections"], (
            f"not every answered request was appended: {appended} entries for {result['requests']} requests"
        )
        return
    if result["server"] != "receiver":
        return
    counters = result["counters"]
    received = counters.get("alerts_received_total", 0)
    if result["mode"] == "new":
        enqueued = counters.get("jobs_enqueued_total|queue=alerts", 0)
        assert enqueued == received, f"new alerts not all enqueued: {counters}"
    else:
        assert counters.get("alerts_duplicate_total", 0) == received, f"not all duplicates: {counters}"
        assert counters.get("jobs_enqueued_total|queue=alerts", 0) == 0, f"duplicates enqueued: {counters}"


def line(result: dict[str, Any]) -> str:
    return (
        f"  {result['server']:<8} alerts={result['alerts']:<3} {result['mode']:<4} "
        f"c={result['connections']:<2} "
        f"{result['rps']:8.1f} req/s ({result['rps'] * result['alerts']:8.0f} alerts/s)  "
        f"p50 {result['p50_us'] / 1000:6.2f} ms  p90 {result['p90_us'] / 1000:6.2f} ms  "
        f"p99 {result['p99_us'] / 1000:6.2f} ms  max {result['max_us'] / 1000:7.2f} ms  "
        f"requests {result['requests']}"
        + (
            f"\n           drained by one drainer: {result['drain']['entries_s']:.0f} payloads/s "
            f"({result['drain']['alerts_s']:.0f} alerts/s, {result['drain']['entries']} payloads)"
            if "drain" in result
            else ""
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--latency-connections",
        type=int,
        default=1,
        help="connections for the extra light-load latency runs of the largest payload (default 1; 0: none)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="measure every case this many times")
    parser.add_argument("--sizes", default="1,50", help="alerts per payload, comma-separated")
    parser.add_argument(
        "--intake",
        default="inline,deferred",
        help="receiver modes to measure (alerts.intake), comma-separated",
    )
    parser.add_argument(
        "--redis-socket",
        choices=("tcp", "unix"),
        default="tcp",
        help="how the receivers reach Redis: loopback TCP (default, as in a cluster) or a Unix socket",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline)
        return 0
    if shutil.which("wrk") is None:
        print("bench_ingest needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {h.machine()}")
    print(
        f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s (keep-alive), "
        f"{args.rounds} round(s); server: gunicorn gthread, settings.server defaults"
    )
    results: list[dict[str, Any]] = []
    with h.workdir("aiops-bench-ingest-", args.keep) as workdir, contextlib.ExitStack() as stack:
        redis_url, store = h.start_redis(stack, workdir, unix=args.redis_socket == "unix")
        env = h.child_env(
            REDIS_URL=redis_url,
            AIOPS_TOKENS_FILE=str(h.write_tokens(workdir)),
            PROMETHEUS_URL="http://127.0.0.1:9",
        )
        modes = [mode.strip() for mode in args.intake.split(",") if mode.strip()]
        receivers: list[tuple[str, str, str]] = []  # (server name, url, case)
        if "inline" in modes:
            receiver_url, _ = h.start_receiver(stack, workdir, env)
            receivers += [("receiver", receiver_url, "new"), ("receiver", receiver_url, "dup")]
        if "deferred" in modes:
            deferred_env = {**env, "AIOPS_ALERTS_INTAKE": "deferred"}
            deferred_url, _ = h.start_receiver(stack, workdir, deferred_env, name="deferred")
            receivers.append(("deferred", deferred_url, "new"))
        port = h.free_port()
        baseline = h.spawn(
            stack, "baseline", [sys.executable, __file__, "--serve-baseline", str(port)], workdir, env=env
        )
        baseline_url = f"http://127.0.0.1:{port}"
        h.wait_http(baseline_url + "/healthz", baseline)
        shown = ", ".join(f"{name} {url}" for name, url, case in receivers if case == "new")
        print(f"{shown}, baseline {baseline_url}, redis {redis_url}\n", flush=True)
        warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
        for server, url, case in [("baseline", baseline_url, "new"), *receivers]:
            if case == "new":
                measure(server, url, workdir, store, max(sizes), "new", warm)
        cases = [("baseline", baseline_url, "new"), *receivers]
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}", flush=True)
            for alerts in sizes:
                for server, url, mode in cases:
                    result = measure(server, url, workdir, store, alerts, mode, args)
                    check(result)
                    if server == "deferred":
                        result["drain"] = drain_rate(redis_url, alerts)
                    results.append(result | {"round": round_})
                    print(line(result), flush=True)
                    time.sleep(0.5)
            if args.latency_connections:
                for server, url, mode in cases:
                    result = measure(server, url, workdir, store, max(sizes), mode, args, latency=True)
                    check(result)
                    results.append(result | {"round": round_})
                    print(line(result), flush=True)
                    time.sleep(0.5)
        store.flushall()
    summarise(results, sizes)
    return 0


def summarise(results: list[dict[str, Any]], sizes: list[int]) -> None:
    print("\nsummary (mean over rounds; spread = min..max)")
    for alerts in sizes:
        by_case: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
        for r in results:
            if r["alerts"] == alerts:
                by_case.setdefault((r["connections"], r["server"], r["mode"]), []).append(r)
        for (connections, server, mode), runs in sorted(by_case.items(), key=lambda kv: -kv[0][0]):
            base = by_case[(connections, "baseline", "new")]
            base_rps = sum(r["rps"] for r in base) / len(base)
            rps = [r["rps"] for r in runs]
            p99 = [r["p99_us"] / 1000 for r in runs]
            p50 = [r["p50_us"] / 1000 for r in runs]
            mean = sum(rps) / len(rps)
            print(
                f"  {alerts:>2} alert(s) c={connections:<2} {server:<8} {mode:<4} {mean:8.1f} req/s "
                f"[{min(rps):.1f}..{max(rps):.1f}]  = {100 * mean / base_rps:5.1f} % of bare Flask  "
                f"p50 {sum(p50) / len(p50):.2f} ms  "
                f"p99 {sum(p99) / len(p99):.2f} ms [{min(p99):.2f}..{max(p99):.2f}]"
            )
    print("targets: receiver >= 70 % of bare Flask; p99 < 50 ms for the 50-alert payload")
    for alerts in sizes:
        rates = [r["drain"]["alerts_s"] for r in results if "drain" in r and r["alerts"] == alerts]
        if rates:
            low, high = min(rates), max(rates)
            print(
                f"  deferred, {alerts} alert(s) a payload: one drainer ingests {low:.0f}..{high:.0f} alerts/s"
            )


if __name__ == "__main__":
    sys.exit(h.run(main))
