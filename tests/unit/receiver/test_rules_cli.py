"""`aiops rules lint|test`: every problem in one pass over files and folders, and why rules do not match."""

# The expected messages are compared exactly; they read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import rules
from receiver.cli import main
from rules import allowlist
from tests.support.rule_samples import BASE_RULE, edit_line

LIBRARY = Path(rules.__file__).resolve().parent / "library"
RuleDir = Callable[[dict[str, str]], Path]

ALLOWED_ACTIONS = ", ".join(sorted(allowlist.ACTIONS))
"""What lint lists as the allowed actions (the allowlist grows with the workflows)."""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["rules", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {"status": status, "startsAt": "2026-11-25T10:00:00Z", "labels": labels}


@pytest.fixture
def payload(tmp_path: Path) -> Callable[..., Path]:
    def write(*alerts: dict[str, Any]) -> Path:
        path = tmp_path / "payload.json"
        path.write_text(json.dumps({"version": "4", "status": "firing", "alerts": list(alerts)}))
        return path

    return write


def test_lint_reports_every_problem_of_files_and_folders_in_one_pass(
    capsys: pytest.CaptureFixture[str], rule_dir: RuleDir
) -> None:
    remediation = "  actions: [restart-pod, delete-namespace]\n  risk: high\n  approval: auto"
    broken = edit_line(edit_line(BASE_RULE, 20, None), 19, remediation)
    directory = rule_dir({
        "a.yaml": broken,
        "b.yaml": edit_line(BASE_RULE, 7, "  stauts: firing"),
        "c.yaml": BASE_RULE.replace("name: crash", "name: clean"),
    })  # fmt: skip
    single = rule_dir({"single.yaml": BASE_RULE.replace("name: crash", "name: single")}) / "single.yaml"
    code, out, err = run(capsys, "lint", str(directory), str(single))
    assert code == 1
    a, b = directory / "a.yaml", directory / "b.yaml"
    assert out.splitlines() == [
        f"{a}:19: remediation.actions[1]: unknown action 'delete-namespace' (allowed: {ALLOWED_ACTIONS})",
        f"{a}:21: remediation.approval: auto needs a low effective risk; it is high (from the declared risk)",
        f"{b}:1: duplicate rule name 'crash' (first at {a}:1)",
        f"{b}:7: unknown key 'stauts' in match (allowed: alertname, labels, status)",
    ]
    assert err.strip() == "4 problems in 2 of 4 files"


def test_lint_accepts_a_single_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "lint", str(LIBRARY / "pod-crashloop.yaml")) == (0, "", "no problems in 1 file\n")
    assert run(capsys, "lint", str(LIBRARY))[0] == 0


def test_lint_counts_a_missing_path_as_a_problem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "lint", str(LIBRARY), str(tmp_path / "nope"))
    assert code == 1
    assert out == f"{tmp_path / 'nope'}:1: rules path does not exist\n"
    assert err == "1 problem in 0 of 6 files (1 with the paths given)\n"


def test_lint_refuses_a_hanging_template_and_a_lookahead_quickly(
    capsys: pytest.CaptureFixture[str], rule_dir: RuleDir
) -> None:
    loops = '  name: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"'
    directory = rule_dir({"a.yaml": edit_line(edit_line(BASE_RULE, 12, loops), 6, '    ns: "~(?!x$).*"')})
    code, out, _ = run(capsys, "lint", str(directory))
    assert code == 1
    assert out.splitlines() == [
        f"{directory / 'a.yaml'}:6: match.labels.ns: invalid regex '(?!x$).*': invalid perl operator: (?!; rule "
        "regexes use RE2 syntax (linear time, as in Prometheus), which has no lookahead, lookbehind or "
        "backreferences and writes \\z for \\Z; to exclude values write '!~x'",
        f"{directory / 'a.yaml'}:12: target.name: fails on a sample alert: range() of 100000 items: rule "
        "templates may use at most 1000",
    ]


def test_test_says_why_each_rule_does_not_match(
    capsys: pytest.CaptureFixture[str], payload: Callable[..., Path]
) -> None:
    path = payload(
        alert(alertname="KubePodCrashLooping", namespace="shop", pod="web-1", container="app"),
        alert(alertname="KubePodCrashLooping", namespace="kube-system ", pod="coredns-1", container="dns"),
        alert("resolved", alertname="KubePodCrashLooping", namespace="shop", pod="web-1", container="app"),
        alert(alertname="Other"),
    )
    code, out, err = run(capsys, "test", str(LIBRARY), "--alert", str(path), "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [[m["rule"] for m in item["matches"]] for item in report] == [["pod-crashloop"], [], [], []]
    assert report[0]["matches"][0]["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-1"}
    assert [item["rule"] for item in report[0]["not_matched"]] == [
        "container-waiting",
        "pod-oomkilled",
        "rollout-gate",
        "scaling-cpu-high",
        "scaling-hpa-maxed",
    ]
    assert report[0]["not_matched"][0]["reasons"] == [
        {
            "field": "match.alertname",
            "value": "KubePodCrashLooping",
            "expected": ["KubeContainerWaiting"],
            "message": "alertname 'KubePodCrashLooping' is not in match.alertname (KubeContainerWaiting)",
        }
    ]
    # The trailing space does not get kube-system past the rule's exclusion.
    crashloop = {item["rule"]: item["reasons"] for item in report[1]["not_matched"]}["pod-crashloop"]
    assert crashloop == [
        {
            "field": "match.labels.namespace",
            "value": "kube-system",
            "expected": "!~kube-(system|public|node-lease)",
            "message": "label namespace is 'kube-system', which matches !~kube-(system|public|node-lease): excluded",
        }
    ]
    assert report[1]["labels"]["namespace"] == "kube-system"
    resolved = {item["rule"]: item["reasons"] for item in report[2]["not_matched"]}["pod-crashloop"]
    assert [reason["message"] for reason in resolved] == ["status 'resolved' is not 'firing' (match.status)"]
    assert {len(item["reasons"]) for item in report[3]["not_matched"]} == {1}


def test_test_text_format_is_the_default(
    capsys: pytest.CaptureFixture[str], payload: Callable[..., Path]
) -> None:
    path = payload(
        alert(alertname="KubePodCrashLooping", namespace="shop", pod="web-1", container="app"),
        alert(alertname="KubePodCrashLooping", namespace="kube-system", pod="coredns-1", container="dns"),
    )
    code, out, _ = run(capsys, "test", str(LIBRARY), "--alert", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "alert 1 of 2: KubePodCrashLooping (firing)  container=app namespace=shop pod=web-1"
    assert lines[1] == "  MATCH pod-crashloop: Pod shop/web-1"
    assert "    check target_ready: kubernetes target_ready" in lines
    assert lines[-4:] == [
        "  no rule matches (of 6)",
        "  no match pod-crashloop:",
        "    label namespace is 'kube-system', which matches !~kube-(system|public|node-lease): excluded",
        "  for other alert names: container-waiting, pod-oomkilled, rollout-gate, scaling-cpu-high, "
        "scaling-hpa-maxed",
    ]


def test_test_exits_non_zero_on_a_render_error(
    capsys: pytest.CaptureFixture[str], payload: Callable[..., Path]
) -> None:
    path = payload(alert(alertname="KubePodOOMKilled", namespace="shop", container="app"))
    code, out, err = run(capsys, "test", str(LIBRARY / "pod-oomkilled.yaml"), "--alert", str(path))
    assert code == 1
    assert (
        "  RENDER ERROR pod-oomkilled: rule 'pod-oomkilled': target.name: undefined value: "
        "'dict object' has no attribute 'pod'"
    ) in out.splitlines()
    assert err == "aiops: 1 render error\n"
    code, out, _ = run(capsys, "test", str(LIBRARY), "--alert", str(path), "--format", "json")
    assert code == 1
    assert json.loads(out)[0]["matches"] == [
        {
            "rule": "pod-oomkilled",
            "error": "rule 'pod-oomkilled': target.name: undefined value: 'dict object' has no attribute 'pod'",
        }
    ]


def test_test_refuses_rules_that_do_not_load_and_bad_payloads(
    capsys: pytest.CaptureFixture[str], rule_dir: RuleDir, payload: Callable[..., Path], tmp_path: Path
) -> None:
    directory = rule_dir({"a.yaml": edit_line(BASE_RULE, 8, "playbook: nope")})
    path = payload(alert(alertname="KubePodCrashLooping"))
    code, out, err = run(capsys, "test", str(directory), "--alert", str(path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{directory / 'a.yaml'}:8: playbook: unknown playbook 'nope' (allowed: pod-failure, rightsizing, rollout-gate, scaling)",
        "aiops: the rules do not load: 1 problem in 1 of 1 file",
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run(capsys, "test", str(LIBRARY), "--alert", str(bad))[0] == 2
    assert run(capsys, "test", str(LIBRARY), "--alert", str(tmp_path / "missing.json"))[0] == 2
