"""docs/alert-rules/pod-failure.yaml: valid for promtool, fires as its unit tests say, names our alerts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RULES_DIR = Path(__file__).resolve().parents[5] / "docs" / "alert-rules"
RULES = RULES_DIR / "pod-failure.yaml"
UNIT_TESTS = RULES_DIR / "pod-failure.test.yaml"


def _promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed (apt-get install -y prometheus)")
    return binary


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], capture_output=True, text=True, timeout=60, check=False, cwd=RULES_DIR
    )


def test_promtool_check_rules_accepts_the_rules() -> None:
    result = _run("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 3 rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = _run("test", "rules", UNIT_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_carry_the_alert_names_and_runbooks_of_us1() -> None:
    rules = [
        rule
        for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
    ]
    assert [rule["alert"] for rule in rules] == [
        "KubePodCrashLooping",
        "KubeContainerWaiting",
        "KubePodOOMKilled",
    ]
    crashloop = rules[0]
    assert " ".join(crashloop["expr"].split()) == (
        'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", '
        'job="kube-state-metrics"}[5m]) >= 1'
    )
    assert crashloop["for"] == "15m"
    for rule in rules:
        runbook = Path(__file__).resolve().parents[5] / rule["annotations"]["runbook_url"]
        assert runbook.exists(), runbook
