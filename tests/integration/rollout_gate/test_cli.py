"""``aiops rollouts watch NS/DEPLOYMENT --follow``, ``list`` and ``show`` as a user runs them: the real
``aiops`` process against the receiver served over HTTP, while RQ workers run the gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.support.pipeline import TOKENS, Pipeline
from tests.support.rollouts import GOOD, set_image
from tests.support.served import ServedApp


def _aiops(served: ServedApp, *args: str, role: str = "approver") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "AIOPS_CLI_URL": served.url,
        "AIOPS_CLI_TOKEN": TOKENS[role],
        "AIOPS_CONFIG": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "rollouts", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_watch_follow_shows_rounds_and_the_decision(shop: Pipeline) -> None:
    with ServedApp(shop.app) as served:
        set_image(shop, GOOD)
        proc = _aiops(served, "watch", "shop/checkout", "--follow")
        try:
            shop.work(until=lambda: proc.poll() is not None, timeout=90)
        finally:
            code, out, err = _finish(proc)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].startswith("gate g-") and "shop/checkout" in lines[0]
        assert lines[1].startswith("round")
        rounds = [line for line in lines if line.strip()[:1].isdigit()]
        assert len(rounds) >= 5 and all("healthy" in line for line in rounds[-3:])
        assert lines[-1].startswith("decision: continued")
        gate_id = lines[0].split()[1]

        code, out, err = _finish(_aiops(served, "list", role="viewer"))
        assert code == 0 and out.startswith(f"{gate_id}  continued"), (out, err)
        code, out, err = _finish(_aiops(served, "show", gate_id, "--format", "json", role="viewer"))
        shown: dict[str, Any] = json.loads(out)
        assert shown["state"] == "continued" and len(shown["rounds"]) == len(rounds)
        code, out, err = _finish(_aiops(served, "show", "g-nosuch", role="viewer"))
        assert code == 6 and "not found" in err
