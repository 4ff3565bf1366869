"""`aiops cron` fires the weekly reports at 00:00 UTC whatever the host's TZ: RQ's CronScheduler matches
cron fields against local time, so ``run_cron`` makes the process's local time UTC first."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# Builds the scheduler as run_cron does (no Redis is contacted before start()) and prints the next run
# of each report, in UTC; with "utc" it first calls the helper run_cron calls.
SCRIPT = """
import sys
import redis
from rq.cron import CronScheduler
from receiver import runtime
from workers.runner.cron import register_reports
from workers.settings import Settings

if sys.argv[1] == "utc":
    runtime.use_utc_clock()
scheduler = CronScheduler(connection=redis.Redis(port=1), name="tz-check")
register_reports(scheduler, Settings())
for job in scheduler.get_jobs():
    print("next-run", job.name, job.next_enqueue_time.isoformat())
"""


def next_runs(mode: str, tz: str) -> dict[str, datetime]:
    env = {**os.environ, "TZ": tz}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    runs = {}
    for line in done.stdout.splitlines():
        if line.startswith("next-run "):
            _, name, at = line.split()
            runs[name] = datetime.fromisoformat(at).astimezone(UTC)
    return runs


@pytest.mark.parametrize("tz", ["America/New_York", "Asia/Kolkata"])
def test_weekly_reports_run_at_midnight_utc_whatever_the_host_timezone(tz: str) -> None:
    runs = next_runs("utc", tz)
    health, security = runs["health-report"], runs["security-report"]
    assert (health.weekday(), health.hour, health.minute) == (0, 0, 0), health
    assert (security.weekday(), security.hour, security.minute) == (4, 0, 0), security
    assert health > datetime.now(UTC)


def test_without_the_helper_rq_follows_the_host_timezone() -> None:
    """The control: RQ alone puts Monday 00:00 New York time at 04:00 or 05:00 UTC."""
    health = next_runs("local", "America/New_York")["health-report"]
    assert health.hour in (4, 5), health
