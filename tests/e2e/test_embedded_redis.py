"""Without REDIS_URL, `aiops serve`, `aiops worker`, `aiops cron` and `aiops approvals list`, started as a
user starts them, share one embedded Redis: an alert the webhook acknowledged becomes a proposal that
everyone sees; `kill -9` of any part, then a clean start and stop, leaves no redis-server behind. Also:
the session-wide leak check (tests/support/leaks.py) fails a run that leaks one."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from receiver.payload import alertmanager_payload
from sandbox.server import SandboxCluster
from tests.support.leaks import alive, stop_pid
from tests.support.pipeline import crash_alert, fast_rules
from tests.support.servers import free_port, wait_for_port
from workers.integrations.redis import embedded

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "sandbox" / "scenarios" / "demo-crashloop"
TOKENS = {
    "webhook": "webhook-token-0123456789",
    "viewer": "viewer-token-01234567890",
    "approver": "approver-token-012345678",
}
pytestmark = pytest.mark.slow


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Machine:
    """One user's shell sessions: aiops processes sharing an embedded Redis state directory."""

    def __init__(self, tmp: Path, kubeconfig: Path) -> None:
        self.tmp = tmp
        self.state_dir = tmp.resolve() / "redis"
        (tmp / "tokens.yaml").write_text(
            yaml.safe_dump([{"name": f"{role}-1", "role": role, "token": t} for role, t in TOKENS.items()])
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "AIOPS_REDIS_EMBEDDED_DIR": str(self.state_dir),
            "KUBECONFIG": str(kubeconfig),
            "PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",  # none: evidence says unavailable
            "AIOPS_PROMETHEUS_TIMEOUT_S": "1",
            "AIOPS_RULES_DIR": str(fast_rules(tmp / "rules")),
            "AIOPS_TOKENS_FILE": str(tmp / "tokens.yaml"),
            "AIOPS_SERVER_WORKERS": "2",
            "AIOPS_LOGGING_LEVEL": "WARNING",
            "AIOPS_CLI_URL": self.base,
            "AIOPS_CLI_TOKEN": TOKENS["viewer"],
        }
        self.env.pop("REDIS_URL", None)
        self.env.pop("AIOPS_CONFIG", None)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *verb: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{verb[0]}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "receiver.cli", *verb],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a shell of its own, as when started by hand
        )
        log.close()
        self.procs.append(proc)
        return proc

    def serve(self) -> subprocess.Popen[bytes]:
        proc = self.start("serve", "--port", str(self.port))
        wait_for_port(self.port, timeout=60, proc=proc)

        def ready() -> bool:
            assert proc.poll() is None, self.log_of(proc)
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200
            return False

        wait_until(ready, 30, "/readyz")
        return proc

    def worker(self) -> subprocess.Popen[bytes]:
        proc = self.start("worker")
        wait_until(lambda: self.leases_of(proc.pid) or proc.poll() is not None, 60, "the worker's lease")
        assert proc.poll() is None, self.log_of(proc)
        return proc

    def leases_of(self, pid: int) -> list[Path]:
        return [path for path in embedded.live_leases(self.state_dir) if path.name.startswith(f"{pid}-")]

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        index = self.procs.index(proc)
        return "\n".join(path.read_text()[-3000:] for path in self.tmp.glob(f"*-{index}.log"))

    def servers(self) -> list[int]:
        return embedded.server_pids(self.state_dir)

    def redis_pid(self) -> int:
        return int((self.state_dir / embedded.REDIS_PID).read_text())

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM to the process alone, as `kill PID` or a service manager sends it; it exits with 0."""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, self.log_of(proc)

    @staticmethod
    def session_gone(proc: subprocess.Popen[bytes]) -> bool:
        """No live process is left in ``proc``'s process group (its gunicorn workers, RQ's scheduler)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == proc.pid and fields[0] not in ("Z", "X"):
                    return False
        return True

    def cleanup(self) -> None:
        for proc in self.procs:  # the whole session: gunicorn workers and RQ horses too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        supervisor = self.state_dir / embedded.SUPERVISOR_PID
        extra = [int(supervisor.read_text())] if supervisor.exists() else []
        for pid in [*self.servers(), *extra]:
            stop_pid(pid)


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    cluster = SandboxCluster.from_dir(SCENARIO).start()
    box = Machine(tmp_path, cluster.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        yield box
    finally:
        box.cleanup()
        cluster.stop()


def post_alert(machine: Machine, pod: str) -> httpx.Response:
    return httpx.post(
        f"{machine.base}/webhooks/alertmanager",
        json=alertmanager_payload([crash_alert(pod)]),
        headers={"Authorization": f"Bearer {TOKENS['webhook']}"},
        timeout=10,
    )


def proposals(machine: Machine) -> list[dict]:
    answer = httpx.get(
        f"{machine.base}/api/v1/approvals",
        headers={"Authorization": f"Bearer {TOKENS['viewer']}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def approvals_list(machine: Machine) -> str:
    listed = subprocess.run(
        [sys.executable, "-m", "receiver.cli", "approvals", "list"],
        cwd=ROOT,
        env=machine.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


def test_serve_worker_and_cli_started_apart_share_one_embedded_redis(machine: Machine) -> None:
    serve = machine.serve()
    worker = machine.worker()
    cron = machine.start("cron")
    wait_until(lambda: machine.leases_of(cron.pid), 60, "the cron scheduler's lease")
    # One server for all: gunicorn's master and both its workers, the RQ worker and cron each hold a lease.
    assert machine.servers() == [machine.redis_pid()]
    assert len(embedded.live_leases(machine.state_dir)) >= 5

    answer = post_alert(machine, "checkout-7d9f8b6c5-q8wzt")
    assert answer.status_code == 202 and answer.json()["enqueued"] == 1
    parked = wait_until(lambda: proposals(machine), 90, "the worker to park a proposal")
    assert parked[0]["target"]["namespace"] == "shop"
    assert parked[0]["id"] in approvals_list(machine)
    assert machine.servers() == [machine.redis_pid()]

    for proc in (serve, cron):
        machine.stop(proc)
        assert machine.servers() == [machine.redis_pid()]  # the worker still uses it
    machine.stop(worker)
    # The last one out stopped the server before it exited: no waiting.
    assert machine.servers() == []
    assert not (machine.state_dir / embedded.REDIS_PID).exists()

    # The data is kept (AOF): started again, the proposal is still there.
    serve = machine.serve()
    assert [item["id"] for item in proposals(machine)] == [parked[0]["id"]]
    machine.stop(serve)
    assert machine.servers() == []


@pytest.mark.parametrize("victim", ["serve", "worker", "both"])
def test_kill_9_then_a_clean_start_and_stop_leaves_no_redis_server(machine: Machine, victim: str) -> None:
    procs = {"serve": machine.serve(), "worker": machine.worker()}
    server = machine.redis_pid()
    killed = list(procs) if victim == "both" else [victim]
    for name in killed:
        os.kill(procs[name].pid, signal.SIGKILL)  # the process alone: its children are orphaned
        procs[name].wait()
    for name in killed:  # they follow their parent (SIGTERM from PR_SET_PDEATHSIG)
        wait_until(functools.partial(machine.session_gone, procs[name]), 60, f"the children of {name} to go")
    if victim == "both":
        # Nobody gave a lease back: the supervisor finds no live lease and stops the server.
        wait_until(lambda: not machine.servers(), 60, "the supervisor to stop the orphaned server")
    else:
        assert machine.servers() == [server]  # the survivor keeps using it

    # A clean start: the survivor's server is reused, never a second one; then a clean stop.
    restarted = {name: getattr(machine, name)() for name in killed}
    procs.update(restarted)
    if victim != "both":
        assert machine.redis_pid() == server
    assert machine.servers() == [machine.redis_pid()]
    assert post_alert(machine, "checkout-7d9f8b6c5-x2k4p").status_code == 202
    wait_until(lambda: proposals(machine), 90, "the worker to park a proposal")

    machine.stop(procs["serve"])
    machine.stop(procs["worker"])
    wait_until(lambda: not machine.servers(), 30, "no redis-server for the state directory")
    wait_until(lambda: not (machine.state_dir / embedded.SUPERVISOR_PID).exists(), 30, "the supervisor to go")
    assert not (machine.state_dir / embedded.REDIS_PID).exists()


def test_the_session_check_fails_a_run_that_leaks_a_redis_server(tmp_path: Path) -> None:
    """A run of pytest with the leak check whose test starts two redis-servers and stops neither: one that
    rewrites its process title (found by its working directory), one outside the run's temporary
    directory (found by the marker in its environment)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            f"""
            import shutil, subprocess, time

            def start(workdir, *extra):
                proc = subprocess.Popen(
                    [shutil.which("redis-server"), "--port", "0", "--unixsocket", str(workdir / "s.sock"),
                     "--dir", str(workdir), "--save", "", *extra],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                while not (workdir / "s.sock").exists():
                    assert proc.poll() is None
                    time.sleep(0.05)
                return proc

            def test_leaks(tmp_path):
                from pathlib import Path
                first = start(tmp_path)
                second = start(Path({str(outside)!r}), "--set-proc-title", "no")
                (Path({str(outside)!r}) / "pids").write_text(f"{{first.pid}} {{second.pid}}")
            """
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    pids: list[int] = []
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "tests.support.leaks",
                "-c",
                str(tmp_path / "pytest.ini"),
                "--rootdir",
                str(tmp_path),
                "--basetemp",
                str(tmp_path / "inner"),
                str(tmp_path / "test_leaky.py"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        pids = [int(pid) for pid in (outside / "pids").read_text().split()]
        assert run.returncode == 1, run.stdout + run.stderr
        assert "1 passed" in run.stdout
        assert "2 redis-server process(es) started by the tests are still alive" in run.stdout
        reasons = ["working directory under", "AIOPS_TEST_SESSION in its environment"]
        for pid, why in zip(pids, reasons, strict=True):
            assert re.search(rf"pid {pid} \({why}", run.stdout), run.stdout
        assert not any(alive(pid) for pid in pids)  # and it stopped them
    finally:
        for pid in pids:
            stop_pid(pid)
