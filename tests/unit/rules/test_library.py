"""The default rule library lints clean and does what the pod-failure playbook expects."""

from __future__ import annotations

from pathlib import Path

import pytest

import rules
from rules.allowlist import ACTIONS
from rules.loader import lint_dir, load_rule_dir, parse_rules
from rules.render import render_rule
from tests.support.rule_samples import make_alert

LIBRARY = Path(rules.__file__).resolve().parent / "library"
EVIDENCE_KEYS = ["restarts_1h", "memory_peak_bytes", "memory_limit_bytes", "cpu_throttled_ratio"]


def test_library_lints_clean() -> None:
    assert lint_dir(LIBRARY) == []


@pytest.mark.parametrize(
    ("rule_name", "alertname"),
    [
        ("pod-crashloop", "KubePodCrashLooping"),
        ("container-waiting", "KubeContainerWaiting"),
        ("pod-oomkilled", "KubePodOOMKilled"),
    ],
)
def test_library_rule(rule_name: str, alertname: str) -> None:
    ruleset = load_rule_dir(LIBRARY)
    rule = ruleset.get(rule_name)
    assert rule is not None
    assert rule.match.alertname == [alertname]
    assert rule.playbook == "pod-failure"
    assert rule.remediation.approval == "required"
    assert rule.remediation.actions and set(rule.remediation.actions) <= set(ACTIONS)
    assert list(rule.evidence.prometheus) == EVIDENCE_KEYS
    assert (LIBRARY / f"{rule_name}.yaml").is_file()

    alert = make_alert(alertname, namespace="shop", pod="checkout-7d9f-abcde", container="app")
    assert [r.name for r in ruleset.match(alert)] == [rule_name]
    assert ruleset.match(make_alert(alertname, namespace="kube-system", pod="p", container="c")) == []
    assert (
        ruleset.match(make_alert(alertname, status="resolved", namespace="shop", pod="p", container="c"))
        == []
    )

    rendered = render_rule(rule, alert)
    assert rendered.target == {"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f-abcde"}
    selector = 'namespace="shop", pod="checkout-7d9f-abcde", container="app"'
    assert rendered.queries == {
        "restarts_1h": f"sum(increase(kube_pod_container_status_restarts_total{{{selector}}}[1h]))",
        "memory_peak_bytes": f"max(max_over_time(container_memory_working_set_bytes{{{selector}}}[1h]))",
        "memory_limit_bytes": f'max(kube_pod_container_resource_limits{{{selector}, resource="memory"}})',
        "cpu_throttled_ratio": (
            f"sum(increase(container_cpu_cfs_throttled_periods_total{{{selector}}}[1h]))"
            f" / sum(increase(container_cpu_cfs_periods_total{{{selector}}}[1h]))"
        ),
    }
    assert [c["name"] for c in rendered.checks] == ["target_ready", "restarts_stable"]


def test_library_queries_quote_hostile_labels() -> None:
    rule = load_rule_dir(LIBRARY).get("pod-crashloop")
    assert rule is not None
    rendered = render_rule(rule, make_alert(namespace="shop", pod="p", container='app"} or vector(1) #'))
    for query in rendered.queries.values():
        assert r'container="app\"} or vector(1) #"' in query


def test_the_guide_example_rule_lints_clean() -> None:
    guide = (LIBRARY.parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    example = guide.split("## A complete rule\n\n```yaml\n", 1)[1].split("```", 1)[0]
    located, problems = parse_rules(example, "docs/rules.md")
    assert problems == []
    assert [item.rule.name for item in located] == ["pod-crashloop"]
