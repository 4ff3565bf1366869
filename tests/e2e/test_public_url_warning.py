"""Without notify.public_url, `aiops serve` says at start-up that notification links are relative, and
/readyz says it too while staying ready; with it set, neither warns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
WARNING = "notify.public_url (env AIOPS_NOTIFY_PUBLIC_URL) is not set"


def serve_once(redis_url: str, extra: dict[str, str]) -> tuple[str, dict]:
    """Start `aiops serve --dev`, read /readyz, stop it by pid; returns its log and the readiness body."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOPS_")}
    env.update({"REDIS_URL": redis_url, "AIOPS_LOGGING_LEVEL": "INFO", **extra})
    server = subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "serve", "--dev", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=30, proc=server)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.status_code == 200
        body = ready.json()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, log = server.communicate(timeout=30)
    return log, body


def test_serve_warns_without_a_public_url_and_readyz_says_so(redis_server) -> None:
    log, ready = serve_once(redis_server.url, {})
    assert WARNING in log
    assert ready["status"] == "ready" and WARNING in ready["checks"]["notify"]["detail"]


def test_no_warning_with_a_public_url(redis_server) -> None:
    log, ready = serve_once(redis_server.url, {"AIOPS_NOTIFY_PUBLIC_URL": "https://aiops.example.org"})
    assert WARNING not in log
    assert ready["checks"]["notify"] == {"ok": True, "public_url": "https://aiops.example.org"}
