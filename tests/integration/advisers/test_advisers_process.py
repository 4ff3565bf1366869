"""Adviser CLIs run as real processes: argument lists, stdin, deadlines, and the whole group killed."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.standins.processes import wait_gone
from workers.integrations.advisers.process import CommandNotFound, run_command

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

FORK_AND_SLEEP = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(f"{child.pid}\\n")
print("started", flush=True)
time.sleep(120)
"""

FORK_IN_BACKGROUND_AND_EXIT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(sys.argv[1], "w").write(f"{child.pid}\\n")
print("done")
"""


def test_arguments_and_stdin_reach_the_command_unchanged() -> None:
    script = "import sys; print(sys.argv[1:]); print(sys.stdin.read().upper()); sys.exit(3)"
    result = run_command(
        [sys.executable, "-c", script, "a b", "$(rm -rf /)", ";ls"], stdin="evidence", timeout_s=10, env=ENV
    )
    assert result.returncode == 3 and not result.timed_out
    assert result.stdout.splitlines() == ["['a b', '$(rm -rf /)', ';ls']", "EVIDENCE"]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    started = time.monotonic()
    result = run_command(
        [sys.executable, "-c", FORK_AND_SLEEP, str(pidfile)], stdin="", timeout_s=1.0, env=ENV
    )
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - started < 5
    assert "started" in result.stdout  # output written before the deadline is kept
    grandchild = int(pidfile.read_text())
    assert wait_gone(grandchild), "the grandchild survived the timeout"


def test_background_grandchildren_are_swept_after_a_normal_exit(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    result = run_command(
        [sys.executable, "-c", FORK_IN_BACKGROUND_AND_EXIT, str(pidfile)], stdin=None, timeout_s=10, env=ENV
    )
    assert result.returncode == 0 and result.stdout.strip() == "done"
    assert wait_gone(int(pidfile.read_text()))


def test_a_missing_binary_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CommandNotFound, match="cannot run"):
        run_command([str(tmp_path / "no-such-tool")], stdin=None, timeout_s=1, env=ENV)


def test_the_command_gets_only_the_environment_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@redis:6379/0")
    script = "import json, os; print(json.dumps(dict(os.environ)))"
    result = run_command([sys.executable, "-c", script], stdin=None, timeout_s=10, env={**ENV, "ONLY": "1"})
    seen = json.loads(result.stdout)
    assert seen["ONLY"] == "1" and seen["PATH"] == ENV["PATH"]
    assert "REDIS_URL" not in seen
