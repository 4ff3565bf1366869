"""The PrometheusRule's alerts, unit-tested by promtool on made-up kube-state-metrics series.

promtool comes from the Debian package ``prometheus``, like the Prometheus server the integration
tests start. It checks that each expression parses, and that each alert fires, with the labels the
default rules need (namespace, pod, container), when it should and not otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

POD = {"job": "kube-state-metrics", "namespace": "shop", "pod": "checkout-1", "container": "app"}
OTHER_POD = {**POD, "pod": "api-1"}


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    selector = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{metric}{{{selector}}}", "values": values}


def _expect(at: str, alertname: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": list(alerts)}


def _alert(labels: dict[str, str], summary: str, description: str) -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "warning", **labels},
        "exp_annotations": {"summary": summary, "description": description},
    }


WAITING = "kube_pod_container_status_waiting_reason"
RESTARTS = "kube_pod_container_status_restarts_total"
TERMINATED = "kube_pod_container_status_last_terminated_reason"
CRASH_LOOPING = _alert(
    {**POD, "reason": "CrashLoopBackOff"},
    "Pod is crash looping.",
    'Pod shop/checkout-1 (app) is in waiting state (reason: "CrashLoopBackOff").',
)
IMAGE_PULL = _alert(
    {"namespace": "shop", "pod": "checkout-1", "container": "app", "reason": "ImagePullBackOff"},
    "Pod container waiting longer than 1 hour.",
    "Container app of pod shop/checkout-1 has been waiting (reason: ImagePullBackOff) for more than an hour.",
)
OOM_KILLED = _alert(
    POD,
    "Container was OOMKilled.",
    "Container app of pod shop/checkout-1 restarted after being OOMKilled in the last 10 minutes.",
)

UNIT_TESTS = [
    {  # Crash looping for 20 minutes: fires after the 15 minutes of `for`.
        "interval": "1m",
        "input_series": [_series(WAITING, {**POD, "reason": "CrashLoopBackOff"}, "1x30")],
        "alert_rule_test": [
            _expect("10m", "KubePodCrashLooping"),
            _expect("20m", "KubePodCrashLooping", CRASH_LOOPING),
            _expect("20m", "KubeContainerWaiting"),
        ],
    },
    {  # Waiting on an image pull for more than an hour.
        "interval": "1m",
        "input_series": [_series(WAITING, {**POD, "reason": "ImagePullBackOff"}, "1x80")],
        "alert_rule_test": [
            _expect("30m", "KubeContainerWaiting"),
            _expect("70m", "KubeContainerWaiting", IMAGE_PULL),
        ],
    },
    {  # A restart whose last termination was OOMKilled fires; a restart for another reason does not.
        "interval": "1m",
        "input_series": [
            _series(RESTARTS, POD, "0x5 1x30"),
            _series(TERMINATED, {**POD, "reason": "OOMKilled"}, "_x5 1x30"),
            _series(RESTARTS, OTHER_POD, "0x5 1x30"),
            _series(TERMINATED, {**OTHER_POD, "reason": "Error"}, "_x5 1x30"),
        ],
        "alert_rule_test": [
            _expect("3m", "KubePodOOMKilled"),
            _expect("8m", "KubePodOOMKilled", OOM_KILLED),
            # Long after the restart the alert resolves, though the last reason is still OOMKilled.
            _expect("30m", "KubePodOOMKilled"),
        ],
    },
]


def _promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        raise RuntimeError("promtool is not installed (apt-get install -y prometheus)")
    return binary


def test_alerts_fire_as_the_default_rules_expect(render_set: Any, tmp_path: Path) -> None:
    rule = render_set("prometheus-operator").one("PrometheusRule", "aiops-responder")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}), encoding="utf-8")
    tests_file = tmp_path / "tests.yaml"
    tests_file.write_text(
        yaml.safe_dump({"rule_files": [rules_file.name], "evaluation_interval": "1m", "tests": UNIT_TESTS}),
        encoding="utf-8",
    )
    result = subprocess.run(
        [_promtool(), "test", "rules", tests_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kube_state_metrics_selector_is_configurable(chart: Any) -> None:
    from tests.helm.conftest import render

    rendered = render(
        chart,
        "ksm",
        {
            "prometheusOperator": {
                "prometheusRule": {
                    "enabled": True,
                    "kubeStateMetricsSelector": 'service="ksm"',
                    "alerts": {"KubeContainerWaiting": False},
                }
            }
        },
    )
    rule = rendered.one("PrometheusRule", "aiops-responder")
    alerts = {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}
    assert set(alerts) == {
        "KubePodCrashLooping",
        "KubePodOOMKilled",
        "AIOpsWorkloadCPUHigh",
        "KubeHpaMaxedOut",
        "AIOpsRolloutErrorRate",
    }
    assert all('service="ksm"' in expr and "kube-state-metrics" not in expr for expr in alerts.values())
