"""Check that processes started by a stand-in are really gone (zombies count as gone)."""

from __future__ import annotations

import time
from pathlib import Path


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout_s: float = 3.0) -> bool:
    """Wait up to ``timeout_s`` for ``pid`` to be gone; True when it is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return process_gone(pid)


def survivors(pidfile: Path, timeout_s: float = 5.0) -> list[int]:
    """The pids listed in a stand-in's pidfile that are still running after a short wait."""
    deadline = time.monotonic() + timeout_s
    while not pidfile.exists() or not pidfile.read_text().strip():
        if time.monotonic() > deadline:
            raise AssertionError(f"the stand-in never wrote {pidfile}")
        time.sleep(0.05)
    pids = [int(pid) for pid in pidfile.read_text().split()]
    return [pid for pid in pids if not wait_gone(pid)]
