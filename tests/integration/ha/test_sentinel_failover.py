"""Redis fails over in the middle of an alert storm (real redis-server primary and two replicas with AOF,
three real redis-sentinel processes, real `aiops worker` processes, the receiver app).

A request that meets the switch is retried by the client for a moment; past that the receiver answers 503
and the sender retries, as Alertmanager does; with
``redis.min_replicas_ack: 1`` a 202 means a replica holds the alert's job (inline intake) or its payload in
the inbox (deferred intake) too. Afterwards every alert that
got a 202 was investigated exactly once, no proposal is lost or doubled, and the workers carried on by
themselves against the promoted replica.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from receiver.app import create_app
from receiver.auth import TokenBook
from receiver.payload import alertmanager_payload
from rules.registry import RuleRegistry
from sandbox import generate
from tests.support.pipeline import TOKENS, auth, crash_alert, fast_rules
from tests.support.sentinel import SentinelSet
from tests.support.servers import free_port, wait_for_port
from workers.integrations.redis.connection import connect_redis
from workers.settings import Settings
from workers.spine.context import Context

ROOT = Path(__file__).resolve().parents[3]
WORKLOADS = 30
pytestmark = pytest.mark.slow


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def one_pod_per_workload(objects: list[dict]) -> list[tuple[str, str]]:
    """(namespace, pod) for one pod of each of the first ``WORKLOADS`` controllers outside kube-system."""
    chosen: dict[str, tuple[str, str]] = {}
    for obj in objects:
        meta = obj["metadata"]
        owners = meta.get("ownerReferences") or []
        if obj["kind"] != "Pod" or not owners or meta["namespace"] == "kube-system":
            continue
        chosen.setdefault(owners[0]["uid"], (meta["namespace"], meta["name"]))
    return list(chosen.values())[:WORKLOADS]


@pytest.fixture(params=["inline", "deferred"])
def world(request, tmp_path):
    intake = request.param
    sentinels = SentinelSet(tmp_path / "redis").start()
    cluster_dir = tmp_path / "cluster"
    objects = generate.objects(generate.Size(pods=300, nodes=20, rbac=10), seed=7)
    generate.write(cluster_dir, objects)
    kubeconfig, port = tmp_path / "kubeconfig", free_port()
    procs: list[subprocess.Popen] = []
    sandbox = subprocess.Popen(
        [
            *(sys.executable, "-m", "receiver.cli", "sandbox", "serve", str(cluster_dir)),
            *("--port", str(port), "--kubeconfig-out", str(kubeconfig)),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sandbox.log", "wb"),
        start_new_session=True,
    )
    procs.append(sandbox)
    rules = fast_rules(tmp_path / "rules")
    env = {
        **os.environ,
        "REDIS_URL": sentinels.url,
        "AIOPS_REDIS_MIN_REPLICAS_ACK": "1",
        "PROMETHEUS_URL": "http://127.0.0.1:9",  # nothing listens: queries fail fast and are recorded
        "KUBECONFIG": str(kubeconfig),
        "AIOPS_RULES_DIR": str(rules),
        "AIOPS_WORKER_JOB_MONITORING_INTERVAL_S": "1",
        "AIOPS_WORKER_MAINTENANCE_INTERVAL_S": "1",
        "AIOPS_WORKER_HEARTBEAT_GRACE_S": "2",
        "AIOPS_LOGGING_LEVEL": "WARNING",
        "AIOPS_ALERTS_INTAKE": intake,
    }
    try:
        wait_for_port(port, proc=sandbox)
        wait_until(kubeconfig.exists, 10, "the sandbox kubeconfig")
        settings = Settings.model_validate(
            {
                "redis": {"url": sentinels.url, "min_replicas_ack": 1},
                "rules": {"dir": str(rules)},
                "prometheus": {"url": "http://127.0.0.1:9"},
                "alerts": {"intake": intake},
            }
        )
        context = Context(settings=settings, redis=connect_redis(settings.redis), rules=RuleRegistry(rules))
        tokens = TokenBook([{"name": f"{r}-user", "role": r, "token": t} for r, t in TOKENS.items()])
        for index in range(2):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "receiver.cli", "worker", "--queues", "alerts,actions"],
                    env=env,
                    cwd=ROOT,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=open(tmp_path / f"worker-{index}.log", "wb"),
                )
            )
        if intake == "deferred":  # as deployed: cron restarts draining if a drainer is lost
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "receiver.cli", "cron"],
                    env=env,
                    cwd=ROOT,
                    start_new_session=True,
                    stdout=subprocess.DEVNULL,
                    stderr=open(tmp_path / "cron.log", "wb"),
                )
            )
        yield {
            "sentinels": sentinels,
            "context": context,
            "client": create_app(context, tokens).test_client(),
            "pods": one_pod_per_workload(objects),
            "workers": procs[1:3],
            "tmp": tmp_path,
        }
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        sentinels.stop()


def post_until_accepted(client, alert: dict, deadline_s: float = 60) -> tuple[int, int]:
    """Post like Alertmanager: retry the same payload until a 2xx; returns (answers 503, attempts)."""
    body = alertmanager_payload([alert])
    refused = attempts = 0
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        attempts += 1
        response = client.post("/webhooks/alertmanager", json=body, headers=auth("webhook"))
        if response.status_code == 202:
            return refused, attempts
        assert response.status_code == 503, response.get_data(as_text=True)
        refused += 1
        time.sleep(0.2)
    raise AssertionError(f"alert {alert['fingerprint']} never accepted")


def test_failover_mid_storm_loses_and_doubles_nothing(world) -> None:
    sentinels, context, client, pods = world["sentinels"], world["context"], world["client"], world["pods"]
    assert len(pods) == WORKLOADS
    alerts = [crash_alert(pod, namespace=namespace, container="app") for namespace, pod in pods]
    old_primary = sentinels.primary_port()
    refused = 0
    for index, alert in enumerate(alerts):
        if index == WORKLOADS // 3:
            sentinels.kill_primary()  # mid-storm, with jobs queued and investigations running
        got_503, _ = post_until_accepted(client, alert)
        refused += got_503
    new_primary = sentinels.wait_for_failover(old_primary)
    assert new_primary != old_primary
    print(f"failover {old_primary} -> {new_primary}; {refused} answers 503 on the way")

    # Every accepted alert is investigated once: one record with one proposal per workload.
    def parked() -> list:
        found = context.proposals.list(limit=500)
        return found if len(found) >= WORKLOADS else []

    proposals = wait_until(parked, 180, "a proposal for every accepted alert")
    time.sleep(3)  # let any stray second run show itself
    proposals = context.proposals.list(limit=500)
    assert len(proposals) == WORKLOADS
    assert len({p.id for p in proposals}) == WORKLOADS
    targets = {(p.alert["labels"]["namespace"], p.alert["labels"]["pod"]) for p in proposals}
    assert targets == set(pods)
    for proposal in proposals:
        kinds = context.records.kinds(proposal.record_id)
        assert kinds.count("proposal") == 1, (proposal.record_id, kinds)
    # The same worker processes investigated the alerts accepted after the failover: they reconnected.
    assert all(worker.poll() is None for worker in world["workers"])
