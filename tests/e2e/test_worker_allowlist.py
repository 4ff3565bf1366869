"""Workers run only the responder's jobs (issue 9, finding 1): real `aiops worker` and `aiops cron`
processes on a real Redis, with jobs enqueued by hand the way anyone who reaches Redis could.

Each foreign job would leave a marker file if any of it ran: its function, its module's import, a pickled
argument or its callback. None may appear; each job is failed with the reason, logged and counted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Callback, Queue
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.webhook import Webhook

from receiver.app import create_app
from rules.registry import RuleRegistry
from tests.support.receiver_api import park, token_book
from workers.runner import jobs
from workers.runner.worker import CALLBACKS, JOB_FUNCTIONS
from workers.settings import Settings
from workers.spine import counters, lifecycle
from workers.spine.context import Context

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


RULE = """\
name: restart
description: Restart crashing pods.
match: {alertname: [KubePodCrashLooping], status: firing}
playbook: pod-failure
target: {kind: Pod, namespace: "{{ labels.namespace }}", name: "{{ labels.pod }}"}
remediation: {actions: [restart-pod], approval: required, expires_after: 1h}
validate: {after: 1m, for: 5m, checks: [{kubernetes: target_ready}]}
"""


class Gadget:
    """Pickles as a call of ``subprocess.getoutput``: unpickling it runs the command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (subprocess.getoutput, (self.command,))


@pytest.fixture
def world(tmp_path, redis_server, redis_conn):
    # A module whose import alone writes a marker: refusing must happen before any import.
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "planted.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(tmp_path / 'imported')!r}).write_text('imported')\n"
        "def run(*args, **kwargs):\n"
        f"    pathlib.Path({str(tmp_path / 'called')!r}).write_text('called')\n"
    )
    # One plain rule: none of these jobs needs one, and the test stays apart from the rule library.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "restart.yaml").write_text(RULE)
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "AIOPS_RULES_DIR": str(tmp_path / "rules"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "lib"), str(ROOT)]),
        "AIOPS_LOGGING_LEVEL": "INFO",
        "AIOPS_SCHEDULES_EXPIRE_INTERVAL_S": "1",
        "AIOPS_RULES_RELOAD_INTERVAL_S": "0",
    }
    context = Context(
        settings=Settings.model_validate({"redis": {"url": redis_server.url}}),
        redis=redis_conn,
        rules=RuleRegistry(tmp_path / "rules"),
    )
    procs: list[subprocess.Popen] = []

    def start(*verb: str, log: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "receiver.cli", *verb],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / log, "wb"),
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield {"tmp": tmp_path, "context": context, "start": start}
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def failure_of(job_id: str, connection) -> str:
    job = Job.fetch(job_id, connection=connection)
    assert job.get_status() == "failed", f"{job_id} is {job.get_status()}"
    result = job.latest_result()
    assert result is not None and result.exc_string
    return result.exc_string


def test_foreign_jobs_are_refused_before_anything_of_them_runs(world, redis_conn) -> None:
    tmp = world["tmp"]
    queue = Queue("alerts", connection=redis_conn)
    foreign = {
        "function": queue.enqueue("subprocess.getoutput", f"id > {tmp / 'shell'}"),
        "import": queue.enqueue("planted.run"),
        "pickled argument": queue.enqueue(
            "workers.spine.lifecycle.expire_job", Gadget(f"id > {tmp / 'unpickled'}")
        ),
        "callback": queue.enqueue("workers.spine.lifecycle.expire_job", on_failure=Callback("planted.run")),
        "success callback": queue.enqueue(
            "workers.spine.lifecycle.expire_job", on_success=Callback("planted.run")
        ),
        "callback as job": queue.enqueue(
            "workers.spine.lifecycle.execute_failed", "x", None, None, None, None
        ),
        "webhook": queue.enqueue(
            "workers.spine.lifecycle.expire_job", webhooks=[Webhook("http://127.0.0.1:9/planted", "finished")]
        ),
    }
    park(world["context"], expires_in=-1)
    ours = queue.enqueue(lifecycle.expire_job)

    worker = world["start"]("worker", "--burst", "--queues", "alerts", log="worker.log")
    assert worker.wait(timeout=120) == 0

    for marker in ("shell", "imported", "called", "unpickled"):
        assert not (tmp / marker).exists(), f"a refused job ran: {marker}"
    reasons = {what: failure_of(job.id, redis_conn) for what, job in foreign.items()}
    assert all("workers.errors.JobRefused" in text for text in reasons.values())
    assert "function 'subprocess.getoutput' is not one of the responder's jobs" in reasons["function"]
    assert "function 'planted.run' is not one of the responder's jobs" in reasons["import"]
    assert "job data is not plain data" in reasons["pickled argument"]
    assert "subprocess getoutput" in reasons["pickled argument"].replace(".", " ")
    assert "on_failure callback 'planted.run'" in reasons["callback"]
    assert "on_success callback 'planted.run'" in reasons["success callback"]
    assert (
        "'workers.spine.lifecycle.execute_failed' is not one of the responder's jobs"
        in reasons["callback as job"]
    )
    assert "webhooks" in reasons["webhook"]
    failed = set(FailedJobRegistry("alerts", connection=redis_conn).get_job_ids())
    assert {job.id for job in foreign.values()} <= failed

    # The product's own job ran on the same worker.
    assert Job.fetch(ours.id, connection=redis_conn).get_status() == "finished"
    assert world["context"].proposals.get("p-0001").status == "expired"

    totals = counters.read_all(redis_conn)
    assert totals[("jobs_refused_total", (("queue", "alerts"),))] == len(foreign)
    metrics = create_app(world["context"], token_book()).test_client().get("/metrics").get_data(as_text=True)
    assert f'aiops_jobs_refused_total{{queue="alerts"}} {float(len(foreign))}' in metrics

    logged = [
        json.loads(line) for line in (tmp / "worker.log").read_text().splitlines() if line.startswith("{")
    ]
    refused = [entry for entry in logged if str(entry.get("message", "")).startswith("refused job")]
    assert {entry["level"] for entry in refused} == {"ERROR"}
    assert {entry["message"].split()[2] for entry in refused} == {job.id for job in foreign.values()}


def test_cron_jobs_run_on_the_guarded_worker(world) -> None:
    """`aiops cron` enqueues the expiry job through RQ's cron scheduler; a real `aiops worker` runs it."""
    context = world["context"]
    park(context, expires_in=-1)
    world["start"]("cron", log="cron.log")
    world["start"]("worker", "--queues", "alerts", log="worker.log")
    deadline = time.monotonic() + 60
    while context.proposals.get("p-0001").status == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert context.proposals.get("p-0001").status == "expired"
    assert ("jobs_refused_total", (("queue", "alerts"),)) not in counters.read_all(context.redis)


def test_every_job_the_code_enqueues_is_allowlisted() -> None:
    """Jobs are enqueued by reference, never by a name in a string, and every job function of the workers
    (``*_job``: the spine's, a workflow's, an integration's) is in the catalog, or the worker would refuse
    the product's own work."""
    by_string = []
    for path in [*(ROOT / "workers").rglob("*.py"), *(ROOT / "receiver").rglob("*.py")]:
        text = path.read_text()
        by_string += [
            f"{path}: {m}" for m in re.findall(r"(?:enqueue\w*|register)\(\s*[\"'][\w.]+[\"']", text)
        ]
        by_string += [f"{path}: {m}" for m in re.findall(r"Callback\(\s*[\"'][\w.]+[\"']", text)]
    assert not by_string, by_string
    spine_jobs = set()
    for path in (ROOT / "workers").rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        names = re.findall(r"^def ([a-z]\w*_job)\(", path.read_text(), re.M)
        spine_jobs |= {f"{module}.{name}" for name in names}
    assert spine_jobs, "no job functions found: the scan is broken"
    assert spine_jobs == JOB_FUNCTIONS
    assert {jobs.dotted(callback) for callback in jobs.CALLBACKS} == CALLBACKS
    assert {
        "workers.spine.investigation.investigate_job",
        "workers.spine.lifecycle.execute_job",
        "workers.spine.lifecycle.expire_job",
    } <= JOB_FUNCTIONS
