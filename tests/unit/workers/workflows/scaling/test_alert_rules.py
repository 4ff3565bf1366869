"""docs/alert-rules/scaling.yaml: valid for promtool, fires as its unit tests say, matched by our rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[5]
RULES_DIR = ROOT / "docs" / "alert-rules"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed (apt-get install -y prometheus)")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=60, check=False, cwd=RULES_DIR
    )


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    checked = _run("check", "rules", "scaling.yaml")
    assert checked.returncode == 0 and "SUCCESS: 2 rules found" in checked.stdout, (
        checked.stdout + checked.stderr
    )
    tested = _run("test", "rules", "scaling.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_library_rules_match_the_alerts_and_runbooks_exist() -> None:
    alerts = {
        rule["alert"]: rule
        for group in yaml.safe_load((RULES_DIR / "scaling.yaml").read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    }
    assert set(alerts) == {"AIOpsWorkloadCPUHigh", "KubeHpaMaxedOut"}
    assert (
        alerts["AIOpsWorkloadCPUHigh"]["for"] == "5m"
        and "kube_replicaset_owner" in alerts["AIOpsWorkloadCPUHigh"]["expr"]
    )
    for name, alert in (
        ("scaling-cpu-high", "AIOpsWorkloadCPUHigh"),
        ("scaling-hpa-maxed", "KubeHpaMaxedOut"),
    ):
        rule = yaml.safe_load((ROOT / "rules" / "library" / f"{name}.yaml").read_text(encoding="utf-8"))
        assert rule["match"]["alertname"] == [alert] and rule["playbook"] == "scaling"
        assert (ROOT / alerts[alert]["annotations"]["runbook_url"]).exists()
