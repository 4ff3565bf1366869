"""Shared plumbing for the benchmarks: child processes on loopback, a private redis-server, the receiver.

Not a benchmark itself (benchmarks are ``bench_*.py``). Every server a benchmark needs is started
here as a child process in its own session (so Ctrl-C reaches only the benchmark, which then stops
them in reverse order) and registered on an ``ExitStack``; SIGTERM is turned into KeyboardInterrupt
so that ``kill`` cleans up the same way.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from sandbox.localprom import free_port, wait_for_port, wait_for_redis
from workers.settings import DEFAULT_RULES_DIR

ROOT = Path(__file__).resolve().parent.parent
TOKENS = {
    "webhook": "bench-webhook-token-0001",
    "viewer": "bench-viewer-token-00001",
    "approver": "bench-approver-token-001",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def machine() -> str:
    """One line naming the machine, for the figures."""
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}){memory}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}, "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, load average {load_average()}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews every figure."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def install_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise_interrupt)


class Child:
    """A child process in its own session, with its output in a log file; ``stop`` ends it."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None):
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self, timeout: float = 25.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def spawn(stack: contextlib.ExitStack, name: str, argv: Sequence[str], workdir: Path, **kw: Any) -> Child:
    child = Child(name, argv, workdir / f"{name}.log", **kw)
    stack.callback(child.stop)
    return child


def start_redis(stack: contextlib.ExitStack, workdir: Path, unix: bool = False) -> tuple[str, redis.Redis]:
    """A private redis-server on a free loopback port (never the machine's 6379); with ``unix``, the URL
    given back is its Unix socket instead (for measuring what the TCP hop costs)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    data = workdir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(data), "--daemonize", "no", "--loglevel", "warning"]
    if unix:
        argv += ["--unixsocket", str(data / "redis.sock"), "--unixsocketperm", "700"]
    child = spawn(stack, "redis", argv, workdir)
    wait_for_port(port, proc=child.proc)
    url = f"unix://{data / 'redis.sock'}?db=0" if unix else f"redis://127.0.0.1:{port}/0"
    wait_for_redis(url)
    client = redis.Redis.from_url(url)
    stack.callback(client.close)
    return url, client


def write_tokens(workdir: Path) -> Path:
    path = workdir / "tokens.yaml"
    path.write_text(
        yaml.safe_dump([{"name": f"bench-{role}", "role": role, "token": t} for role, t in TOKENS.items()])
    )
    return path


def rules_without_cooldown(directory: Path) -> Path:
    """The default rules (rules/library) with the per-target cooldown removed; nothing else changed."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted(DEFAULT_RULES_DIR.glob("*.yaml")):
        rule = yaml.safe_load(source.read_text())
        rule.pop("cooldown", None)
        (directory / source.name).write_text(yaml.safe_dump(rule, sort_keys=False))
    return directory


def child_env(**overrides: str) -> dict[str, str]:
    """This environment without AIOPS_* / REDIS_URL / PROMETHEUS_URL / KUBECONFIG, plus ``overrides``."""
    drop = ("REDIS_URL", "PROMETHEUS_URL", "KUBECONFIG")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOPS_") and k not in drop}
    env.update(overrides)
    return env


def wait_http(url: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{child.name} not answering {url} after {timeout}s:\n{child.tail()}")


def start_receiver(
    stack: contextlib.ExitStack, workdir: Path, env: dict[str, str], name: str = "receiver"
) -> tuple[str, Child]:
    """``aiops serve`` (gunicorn, gthread, settings.server.workers/threads) on a free loopback port."""
    port = free_port()
    argv = [sys.executable, "-m", "receiver.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    child = spawn(stack, name, argv, workdir, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/healthz", child)
    return base, child


def start_workers(
    stack: contextlib.ExitStack,
    workdir: Path,
    env: dict[str, str],
    count: int,
    connection: redis.Redis,
    queues: str = "actions,alerts,advice,reports",
    name: str = "worker",
) -> list[Child]:
    """``count`` more ``aiops worker`` processes (RQ forking workers, on ``queues``: all by default), as
    the product runs them; returns once they have registered."""
    from rq import Worker

    wanted = Worker.count(connection=connection) + count
    children = []
    for index in range(count):
        argv = [sys.executable, "-m", "receiver.cli", "worker", "--queues", queues]
        children.append(spawn(stack, f"{name}-{index}", argv, workdir, env=env))
    deadline = time.monotonic() + 60
    while Worker.count(connection=connection) < wanted:
        for child in children:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} processes did not register in 60 s")
        time.sleep(0.1)
    return children


@contextlib.contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 100))))
    return float(sorted_values[rank - 1])


def metric_lines(base: str, prefixes: Sequence[str]) -> list[str]:
    text = httpx.get(base + "/metrics", timeout=10).text
    return [line for line in text.splitlines() if line.startswith(tuple(prefixes))]


def run(main: Any) -> int:
    """Run ``main`` (which stops its servers on the way out); Ctrl-C or SIGTERM exit with 130."""
    install_sigterm()
    try:
        return int(main() or 0)
    except KeyboardInterrupt:
        print("\ninterrupted: every server this benchmark started has been stopped", file=sys.stderr)
        return 130
