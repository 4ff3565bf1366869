"""The session-wide leak check: no redis-server a test started may outlive the test session.

At session start a marker (``AIOPS_TEST_SESSION=<uuid>``) goes into the environment, so every process the
tests start inherits it. At session end, after every fixture has been torn down, a redis-server still
alive that carries the marker in its environment, or whose working directory (redis-server changes to its
``--dir``) lies under the session's temporary directory, is a leak: the run fails with their pids and
command lines, and they are stopped by pid. The second test catches servers whose environment is
unreadable (redis-server overwrites it with its process title unless ``--set-proc-title no``).

Used as a plugin: ``tests/conftest.py`` imports these hooks, and a test runs it with ``-p``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

MARKER = "AIOPS_TEST_SESSION"
NAMES = ("redis-server", "redis-sentinel")


@dataclass(frozen=True)
class Leak:
    pid: int
    cmdline: str
    why: str


def pytest_sessionstart(session: pytest.Session) -> None:
    os.environ[MARKER] = uuid.uuid4().hex
    # Tests never touch the user's own embedded Redis (~/.local/state/aiops-responder/redis).
    os.environ.setdefault("AIOPS_REDIS_EMBEDDED_DIR", str(_basetemp(session) / "embedded-redis"))


@pytest.hookimpl(trylast=True)  # after the runner's hook has torn down the session fixtures
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = find_leaks(os.environ.get(MARKER, ""), _basetemp(session))
    if not leaks:
        return
    lines = [f"  pid {leak.pid} ({leak.why}): {leak.cmdline}" for leak in leaks]
    message = "\n".join(
        [f"{len(leaks)} redis-server process(es) started by the tests are still alive:", *lines]
    )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")
        reporter.write_sep("!", "leaked redis-server", red=True)
        reporter.write_line(message + "\n  (stopped now by pid)")
    else:
        print(message)
    for leak in leaks:
        stop_pid(leak.pid)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _basetemp(session: pytest.Session) -> Path:
    return Path(session.config._tmp_path_factory.getbasetemp()).resolve()  # type: ignore[attr-defined]


def find_leaks(marker: str, basetemp: Path) -> list[Leak]:
    """Live redis-server processes carrying ``marker`` or working under ``basetemp``."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        proc = Path("/proc") / name
        try:
            argv = [
                part.decode(errors="replace") for part in (proc / "cmdline").read_bytes().split(b"\0") if part
            ]
            if not argv or not Path(argv[0].split()[0]).name.startswith(NAMES) or not alive(int(name)):
                continue
            why = ""
            with contextlib.suppress(OSError):
                if marker and needle in (proc / "environ").read_bytes().split(b"\0"):
                    why = f"{MARKER} in its environment"
            with contextlib.suppress(OSError):
                if not why and Path(os.readlink(proc / "cwd")).is_relative_to(basetemp):
                    why = f"working directory under {basetemp}"
        except OSError:
            continue  # gone meanwhile
        if why:
            found.append(Leak(int(name), " ".join(argv), why))
    return found


def alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our own child
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if ``pid`` has not gone within ``timeout`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not alive(pid):
            return
