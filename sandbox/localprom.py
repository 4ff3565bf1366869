"""A real Prometheus (Debian's ``prometheus`` binary) on a free loopback port, scraping the sandbox.

Used by the demo and the tests; never by the running service.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class BinaryServer:
    """A server binary on a loopback port, with its log in a file; ``stop`` ends it."""

    def __init__(self, argv: list[str], port: int, log_path: Path) -> None:
        self.argv = argv
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/-/ready", timeout: float = 30.0) -> BinaryServer:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - a prctl call, no locks taken
            )
        wait_for_port(self.port, timeout, self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise TimeoutError(f"{self.argv[0]} not ready; log: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self.proc)


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started it dies, even by SIGKILL.

    ``stop`` covers every orderly end; this covers a demo or test runner killed outright, which would
    otherwise leave the server running with parent 1.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_redis(url: str, timeout: float = 10.0) -> None:
    """Until a freshly started redis-server answers PING (it refuses while loading its data)."""
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.exceptions.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


def find_binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def start_prometheus(
    workdir: Path, scrape_targets: list[str], scrape_interval: str = "1s", data_dir: Path | None = None
) -> BinaryServer:
    """A real Prometheus scraping ``scrape_targets`` (host:port) as job kube-state-metrics.

    ``data_dir``: the TSDB directory (default ``workdir/data``), e.g. one that
    ``sandbox.history.backfill`` filled with days of history before this start.
    """
    binary = find_binary("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed (apt-get install -y prometheus)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {"job_name": "kube-state-metrics", "static_configs": [{"targets": scrape_targets}]}
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={data_dir or workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]
    return BinaryServer(argv, port, workdir / "prometheus.log").start()


def wait_for_series(
    prometheus: BinaryServer, selector: str, timeout: float = 30.0, samples: int = 2, window: str = "5m"
) -> None:
    """Until the series of ``selector`` (a plain selector) are scraped and have ``samples`` samples
    within ``window``.

    One sample makes the series visible to an instant query, but range functions such as
    ``increase`` need two, so waiting for the first sample alone leaves the next query a race.
    """
    query = f"(count_over_time({selector}[{window}]) >= {samples}) and {selector}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = httpx.get(f"{prometheus.url}/api/v1/query", params={"query": query}, timeout=5).json()
        if result["data"]["result"]:
            return
        time.sleep(0.2)
    raise TimeoutError(f"Prometheus has fewer than {samples} samples of {selector} after {timeout}s")
