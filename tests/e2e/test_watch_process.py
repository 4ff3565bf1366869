"""`aiops watch` as a user runs it: a real process, configured by environment variables, against a sandbox
cluster and a real Redis; it queues an investigation for a crash-looping pod and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rq import Queue

from sandbox.server import SandboxCluster
from workers.spine import queues

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"


def test_watch_process_queues_an_investigation_and_stops_on_sigterm(
    tmp_path, redis_conn, redis_server
) -> None:
    cluster = SandboxCluster.from_dir(SCENARIO).start()
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "REDIS_URL": redis_server.url,
        "AIOPS_WATCH_TIMEOUT_S": "5",
        "AIOPS_LOGGING_JSON_LINES": "false",
    }
    env.pop("AIOPS_CONFIG", None)
    log = (tmp_path / "watch.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "watch", "--namespace", "shop"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        queue = Queue(queues.ALERTS, connection=redis_conn)

        def investigations() -> list[dict]:
            alerts = []
            for job in queue.get_jobs():
                if job.func_name == "workers.spine.investigation.investigate_job":
                    alerts.append(job.args[0])
                elif (
                    job.func_name == "workers.spine.intake.fan_out_job"
                ):  # both pods listed at once: one batch
                    alerts.extend(item["args"][0] for item in job.args[0])
            return alerts

        deadline = time.monotonic() + 20
        while len(investigations()) < 2:
            assert process.poll() is None, (tmp_path / "watch.log").read_text()
            assert time.monotonic() < deadline, "no investigation queued in time"
            time.sleep(0.1)
        alerts = investigations()
        assert {alert["labels"]["pod"] for alert in alerts} == {
            "checkout-7d9f8b6c5-q8wzt",
            "checkout-7d9f8b6c5-x2k4p",
        }
        assert {alert["source"] for alert in alerts} == {"watch"}

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0  # it stops on SIGTERM, cleanly (how fast is not a test)
        output = (tmp_path / "watch.log").read_text()
        assert "watching pods in shop" in output and "watch stopped" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
        cluster.stop()
