"""Faults with real `aiops worker` processes: SIGKILL mid-investigation and mid-execution.

The investigation is held mid-way by a real Prometheus that is stopped with SIGSTOP (its socket
accepts, nothing answers), so the kill lands inside the job every time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.job import Job

from rules.registry import RuleRegistry
from tests.support.pipeline import crash_alert, fast_rules, wait_for_series
from tests.support.servers import free_port, start_prometheus, wait_for_port
from workers.integrations.kubernetes.client import Kube
from workers.settings import Settings
from workers.spine.context import Context
from workers.spine.intake import ingest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"
pytestmark = pytest.mark.slow


def kill_tree(pid: int) -> None:
    """SIGKILL a worker and every descendant (RQ's work horse runs in its own session), as when a node
    or container dies."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, found = [pid], []
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    for target in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def world(tmp_path, redis_conn, redis_server):
    # The sandbox runs as its own process (`aiops sandbox serve`) so that a test can freeze it.
    kubeconfig = tmp_path / "kubeconfig"
    port = free_port()
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "receiver.cli",
            "sandbox",
            "serve",
            str(SCENARIO),
            "--port",
            str(port),
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sandbox.log", "wb"),
    )
    wait_for_port(port, proc=sandbox)
    wait_until(kubeconfig.exists, 10, "the sandbox kubeconfig")
    from kubernetes import config as k8s_config

    kube = Kube(k8s_config.new_client_from_config(config_file=str(kubeconfig)))
    prometheus = start_prometheus(tmp_path / "prometheus", [f"127.0.0.1:{port}"])
    wait_for_series(prometheus, "kube_pod_container_status_restarts_total")
    rules = fast_rules(tmp_path / "rules")
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "PROMETHEUS_URL": prometheus.url,
        "KUBECONFIG": str(kubeconfig),
        "AIOPS_RULES_DIR": str(rules),
        "AIOPS_PROMETHEUS_TIMEOUT_S": "30",
        "AIOPS_WORKER_JOB_MONITORING_INTERVAL_S": "1",
        "AIOPS_WORKER_MAINTENANCE_INTERVAL_S": "1",
        "AIOPS_WORKER_HEARTBEAT_GRACE_S": "2",
        "AIOPS_LOGGING_LEVEL": "WARNING",
    }
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_server.url},
            "rules": {"dir": str(rules)},
            "prometheus": {"url": prometheus.url},
        }
    )
    context = Context(
        settings=settings, redis=redis_conn, rules=RuleRegistry(rules), kube_factory=lambda: kube
    )
    workers: list[subprocess.Popen] = []

    def start_worker(queues: str = "alerts,actions") -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "receiver.cli", "worker", "--queues", queues],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"worker-{len(workers)}.log", "wb"),
        )
        workers.append(proc)
        return proc

    yield {
        "sandbox": sandbox,
        "kube": kube,
        "prometheus": prometheus,
        "context": context,
        "start_worker": start_worker,
        "tmp": tmp_path,
    }
    for proc in workers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    if prometheus.proc and prometheus.proc.poll() is None:
        prometheus.proc.send_signal(signal.SIGCONT)
    prometheus.stop()
    sandbox.send_signal(signal.SIGCONT)
    sandbox.terminate()
    sandbox.wait(timeout=10)


def checkout_pod(kube) -> str:
    return next(
        p["metadata"]["name"] for p in kube.list_pods("shop") if p["metadata"]["name"].startswith("checkout")
    )


def test_killed_worker_mid_investigation_yields_exactly_one_proposal(world) -> None:
    context = world["context"]
    result = ingest(context, [crash_alert(checkout_pod(world["kube"]))])
    job_id = result.jobs[0]
    record_id = "r-" + job_id.removeprefix("investigate-")

    world["prometheus"].proc.send_signal(signal.SIGSTOP)  # queries now hang
    first = world["start_worker"]()
    wait_until(lambda: "rule_matched" in context.records.kinds(record_id), 30, "the investigation to start")
    time.sleep(1.5)  # inside the Prometheus query now
    assert context.proposals.list() == []
    kill_tree(first.pid)
    first.wait()
    world["prometheus"].proc.send_signal(signal.SIGCONT)

    world["start_worker"]()
    proposals = wait_until(context.proposals.list, 90, "the retried investigation to park a proposal")
    job = Job.fetch(job_id, connection=context.redis)
    wait_until(lambda: job.get_status(refresh=True) == "finished", 30, "the job to finish")
    time.sleep(2)  # give any stray second run the chance to show up
    assert len(context.proposals.list()) == 1
    assert proposals[0].diagnosis["category"] == "bad_config"
    kinds = context.records.kinds(record_id)
    assert kinds.count("proposal") == 1
    assert kinds.count("alert_received") == 2  # the killed attempt and the retry are both on record


def test_killed_worker_mid_execution_ends_unknown_and_is_not_retried(world) -> None:
    context, kube = world["context"], world["kube"]
    from tests.support.pipeline import Pipeline
    from workers.spine.lifecycle import approve

    ingest(context, [crash_alert(checkout_pod(kube))])
    Pipeline(cluster=None, prometheus=None, context=context, app=None).work(
        until=lambda: context.proposals.list("pending")
    )
    proposal = context.proposals.list("pending")[0]
    generation = kube.get_deployment("shop", "checkout")["metadata"]["generation"]

    # Freeze the API server: the execution blocks on its first read of the target.
    world["sandbox"].send_signal(signal.SIGSTOP)
    approve(context, proposal.id, "alice", "go")
    worker = world["start_worker"]("actions")
    wait_until(lambda: context.proposals.get(proposal.id).status == "executing", 30, "execution to start")
    time.sleep(1)
    kill_tree(worker.pid)
    worker.wait()
    world["sandbox"].send_signal(signal.SIGCONT)

    world["start_worker"]("actions")
    wait_until(
        lambda: context.proposals.get(proposal.id).status == "unknown", 60, "the sweep to mark unknown"
    )
    time.sleep(3)
    final = context.proposals.get(proposal.id)
    assert final.status == "unknown"
    assert kube.get_deployment("shop", "checkout")["metadata"]["generation"] == generation
    assert "execution_unknown" in context.records.kinds(final.record_id)
