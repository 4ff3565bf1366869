"""The chart's PrometheusRule carries the US2 alerts exactly as docs/alert-rules/scaling.yaml: the
docs' promtool unit tests pass against the rendered rules, and each alert can be turned off."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alert-rules"


def test_rendered_scaling_alerts_pass_the_docs_unit_tests(render_set: Any, tmp_path: Path) -> None:
    rule = render_set("prometheus-operator").one("PrometheusRule", "aiops-responder")
    groups = [group for group in rule["spec"]["groups"] if group["name"] == "aiops-responder.scaling"]
    assert [r["alert"] for r in groups[0]["rules"]] == ["AIOpsWorkloadCPUHigh", "KubeHpaMaxedOut"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}), encoding="utf-8")
    tests = yaml.safe_load((DOCS / "scaling.test.yaml").read_text(encoding="utf-8"))
    tests["rule_files"] = ["rules.yaml"]
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests), encoding="utf-8")
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (apt-get install -y prometheus)"
    result = subprocess.run(
        [promtool, "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scaling_alerts_can_be_turned_off(chart: Any) -> None:
    from tests.helm.conftest import render

    values = {
        "prometheusOperator": {
            "prometheusRule": {
                "enabled": True,
                "alerts": {"AIOpsWorkloadCPUHigh": False, "KubeHpaMaxedOut": False},
            }
        }
    }
    rule = render(chart, "no-scaling-alerts", values).one("PrometheusRule", "aiops-responder")
    assert [group["name"] for group in rule["spec"]["groups"]] == [
        "aiops-responder.pod-failures",
        "aiops-responder.rollout-gate",
    ]
