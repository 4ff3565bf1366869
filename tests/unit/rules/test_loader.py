"""Lint: every kind of problem is reported with the right file, line and a message that says what to fix."""

# The expected messages are compared exactly; they read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rules import allowlist
from rules.errors import Problem, RuleSetError
from rules.loader import lint_dir, lint_paths, load_rule_dir, load_rule_paths, parse_rules
from tests.support.rule_samples import BASE_RULE, edit_line

RuleDir = Callable[[dict[str, str]], Path]

ALLOWED_ACTIONS = ", ".join(sorted(allowlist.ACTIONS))
"""What lint lists as the allowed actions (the allowlist grows with the workflows)."""


def problems_after(line: int, replacement: str | None) -> list[str]:
    _, problems = parse_rules(edit_line(BASE_RULE, line, replacement), "r.yaml")
    return [str(p) for p in problems]


def test_base_rule_is_clean() -> None:
    rules, problems = parse_rules(BASE_RULE, "r.yaml")
    assert problems == []
    assert [(r.rule.name, r.file, r.line) for r in rules] == [("crash", "r.yaml", 1)]


def test_problem_formats_as_file_line_message() -> None:
    assert str(Problem("rules/a.yaml", 12, "bad")) == "rules/a.yaml:12: bad"


# (line to edit, new text or None to delete, the one problem expected)
CASES = [
    pytest.param(
        7, "  stauts: firing",
        "r.yaml:7: unknown key 'stauts' in match (allowed: alertname, labels, status)",
        id="unknown-key",
    ),
    pytest.param(
        28, "colldown: 30m",
        "r.yaml:28: unknown key 'colldown' (allowed: name, description, match, playbook, target, evidence, "
        "remediation, validate, cooldown, rollout)",
        id="unknown-top-level-key",
    ),
    pytest.param(8, None, "r.yaml:1: missing required key 'playbook'", id="missing-key"),
    pytest.param(10, None, "r.yaml:9: missing required key 'kind' in target", id="missing-nested-key"),
    pytest.param(
        6, '    namespace: "~("',
        "r.yaml:6: match.labels.namespace: invalid regex '(': missing ): (",
        id="bad-regex",
    ),
    pytest.param(
        6, '    namespace: "!~(kube-"',
        "r.yaml:6: match.labels.namespace: invalid regex '(kube-': missing ): (kube-",
        id="bad-negated-regex",
    ),
    pytest.param(
        6, '    namespace: "~^$"',
        "r.yaml:6: match.labels.namespace: regex '^$' can only match an empty value: a regex must match the whole "
        "label value (e.g. '~shop-.*'); to match a missing label write \"\", to exclude values write '!~regex'",
        id="zero-width-regex",
    ),
    pytest.param(
        6, '    namespace: "~(?!kube-system$).*"',
        "r.yaml:6: match.labels.namespace: invalid regex '(?!kube-system$).*': invalid perl operator: (?!; rule "
        "regexes use RE2 syntax (linear time, as in Prometheus), which has no lookahead, lookbehind or "
        "backreferences and writes \\z for \\Z; to exclude values write '!~kube-system'",
        id="lookahead-refused-with-the-negated-form",
    ),
    pytest.param(
        6, '    namespace: "~^(?!kube-(system|public)$).*"',
        "r.yaml:6: match.labels.namespace: invalid regex '^(?!kube-(system|public)$).*': invalid perl operator: "
        "(?!; rule regexes use RE2 syntax (linear time, as in Prometheus), which has no lookahead, lookbehind or "
        "backreferences and writes \\z for \\Z; to exclude values write '!~kube-(system|public)'",
        id="anchored-lookahead-refused",
    ),
    pytest.param(
        6, '    namespace: "~(x+x+)+\\\\1y"',
        "r.yaml:6: match.labels.namespace: invalid regex '(x+x+)+\\\\1y': invalid escape sequence: \\1; rule "
        "regexes use RE2 syntax (linear time, as in Prometheus), which has no lookahead, lookbehind or "
        "backreferences and writes \\z for \\Z",
        id="backtracking-redos-refused",
    ),
    pytest.param(
        6, '    namespace: "~(?<=a)b"',
        "r.yaml:6: match.labels.namespace: invalid regex '(?<=a)b': invalid perl operator: (?<=; rule regexes use "
        "RE2 syntax (linear time, as in Prometheus), which has no lookahead, lookbehind or backreferences and "
        "writes \\z for \\Z",
        id="lookbehind-refused",
    ),
    pytest.param(
        12, '  name: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"',
        "r.yaml:12: target.name: fails on a sample alert: range() of 100000 items: rule templates may use at "
        "most 1000",
        id="nested-range-100000-refused",
    ),
    pytest.param(
        12, '  name: "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}x"',
        "r.yaml:12: target.name: fails on a sample alert: the template's loops run more than 1000 iterations "
        "in all",
        id="nested-loops-refused",
    ),
    pytest.param(
        15, "    restarts_1h: 'up{pod={{ (labels.pod * 100000000) | promql }}}'",
        "r.yaml:15: evidence.prometheus.restarts_1h: fails on a sample alert: a * repetition is larger than "
        "32768 characters",
        id="huge-string-refused",
    ),
    pytest.param(
        12, '  name: "{{ labels.pod "',
        "r.yaml:12: target.name: template syntax error on template line 1: unexpected end of template, "
        "expected 'end of print statement'.",
        id="template-syntax",
    ),
    pytest.param(
        12, '  name: "{{ lables.pod }}"',
        "r.yaml:12: target.name: unknown template variable 'lables' "
        "(known: alert, annotations, fingerprint, labels, startsAt, status)",
        id="unknown-variable",
    ),
    pytest.param(
        12, '  name: "{{ labels.pod | bogus }}"',
        "r.yaml:12: target.name: template syntax error on template line 1: No filter named 'bogus'.",
        id="unknown-filter",
    ),
    pytest.param(
        15, "    restarts_1h: 'up{pod={{ labels.pod }}}'",
        "r.yaml:15: evidence.prometheus.restarts_1h: {{ labels.pod }} reaches PromQL without the promql filter; "
        "write {{ labels.pod | promql }} (template line 1)",
        id="unquoted-label-in-evidence",
    ),
    pytest.param(
        26, "    - promql: 'up{pod={{ labels.pod | lower }}} == 1'",
        "r.yaml:26: validate.checks[0].promql: {{ labels.pod | lower }} reaches PromQL without the promql filter; "
        "write {{ labels.pod | lower | promql }} (template line 1)",
        id="unquoted-label-in-check",
    ),
    pytest.param(
        15, "    restarts_1h: 'up{pod={{ labels.pod | promql | replace(\"a\", \"b\") }}}'",
        "r.yaml:15: evidence.prometheus.restarts_1h: {{ labels.pod | promql | replace }}: promql must be the last "
        "filter (template line 1)",
        id="promql-not-last",
    ),
    pytest.param(
        19, "  actions: [restart-pod, delete-namespace]",
        f"r.yaml:19: remediation.actions[1]: unknown action 'delete-namespace' (allowed: {ALLOWED_ACTIONS})",
        id="action-not-allowlisted",
    ),
    pytest.param(
        8, "playbook: fix-everything",
        "r.yaml:8: playbook: unknown playbook 'fix-everything' (allowed: pod-failure, rightsizing, rollout-gate, scaling)",
        id="unknown-playbook",
    ),
    pytest.param(
        16, "  kubernetes: [pod, secrets]",
        "r.yaml:16: evidence.kubernetes[1]: unknown kubernetes evidence kind 'secrets' "
        "(allowed: events, node, owner, pod, previous_logs)",
        id="unknown-evidence-kind",
    ),
    pytest.param(
        17, "  ai: [chatgpt]",
        "r.yaml:17: evidence.ai[0]: unknown adviser 'chatgpt' (allowed: kubectl-ai, kagent, holmesgpt, k8sgpt)",
        id="unknown-adviser",
    ),
    pytest.param(
        20, "  approval: auto",
        "r.yaml:20: remediation.approval: auto needs a low effective risk; it is medium "
        "(from actions rollback-deployment)",
        id="auto-approval-medium-risk",
    ),
    pytest.param(
        21, "  expires_after: 1x",
        "r.yaml:21: remediation.expires_after: invalid duration '1x': use whole numbers with units d, h, m, s, "
        "largest first (e.g. 90s, 2m, 1h, 1h30m, 7d)",
        id="bad-duration",
    ),
    pytest.param(
        28, "cooldown: 30",
        "r.yaml:28: cooldown: a duration must be a string with a unit (e.g. 90s, 2m, 1h, 1h30m, 7d), got 30",
        id="duration-without-unit",
    ),
    pytest.param(24, "  for: 0s", "r.yaml:24: validate.for: duration '0s' must be at least 1s", id="zero-window"),
    pytest.param(
        7, "  status: sometimes",
        "r.yaml:7: match.status: must be 'firing', 'resolved' or 'any' (got 'sometimes')",
        id="bad-status",
    ),
    pytest.param(4, "  alertname: {a: 1}", "r.yaml:4: match.alertname: must be a list, not a mapping", id="type"),
    pytest.param(
        4, "  alertname: ['~Kube.*']",
        "r.yaml:4: match.alertname[0]: alert name '~Kube.*' must be an exact, non-empty name "
        "(no regex: it is the index key)",
        id="regex-alertname",
    ),
    pytest.param(
        6, "    alertname: Foo",
        "r.yaml:6: match.labels: key 'alertname': match alert names with match.alertname, not match.labels",
        id="alertname-in-labels",
    ),
    pytest.param(
        6, "    bad-label: x",
        "r.yaml:6: match.labels: key 'bad-label': invalid label name 'bad-label' "
        "(letters, digits and _, not starting with a digit)",
        id="bad-label-name",
    ),
    pytest.param(
        12, '  name: "{{ labels.__class__ }}"',
        "r.yaml:12: target.name: fails on a sample alert: unsafe template access: access to attribute '__class__' "
        "of 'dict' object is unsafe.",
        id="unsafe-attribute",
    ),
    pytest.param(
        12, '  name: "{{ labels.items }}"',
        "r.yaml:12: target.name: labels.items is a dict method, not a key; write labels['items']",
        id="dict-method-label",
    ),
    pytest.param(
        27, "    - {kubernetes: target_ready, promql: 'up'}",
        "r.yaml:27: validate.checks[1]: a check needs exactly one of 'promql' or 'kubernetes'",
        id="check-with-two-kinds",
    ),
    pytest.param(
        27, "    - kubernetes: pod_happy",
        "r.yaml:27: validate.checks[1].kubernetes: must be 'target_ready' or 'restarts_stable' (got 'pod_happy')",
        id="unknown-kubernetes-check",
    ),
    pytest.param(
        1, "name: Crash_Loop",
        "r.yaml:1: name: 'Crash_Loop' is not a valid rule name: use lowercase letters, digits and '-' (at most 63)",
        id="bad-rule-name",
    ),
    pytest.param(
        2, "description: [a, b]",
        "r.yaml:2: description: must be a string, not a list (quote the value in YAML)",
        id="not-a-string",
    ),
    pytest.param(
        23, "  after: 2m\n  after: 3m",
        "r.yaml:24: validate.after: duplicate key (a later value would win)",
        id="duplicate-key",
    ),
    pytest.param(
        10, "  kind: [Pod",
        "r.yaml:11: YAML syntax error: while parsing a flow sequence: expected ',' or ']', but got ':'",
        id="yaml-syntax",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "replacement", "expected"), CASES)
def test_lint_reports_problem_at_its_line(line: int, replacement: str | None, expected: str) -> None:
    assert problems_after(line, replacement) == [expected]


def test_auto_approval_is_allowed_for_low_risk_actions() -> None:
    text = edit_line(edit_line(BASE_RULE, 19, "  actions: [restart-pod]"), 20, "  approval: auto")
    assert parse_rules(text, "r.yaml")[1] == []


def test_declared_risk_blocks_auto_approval() -> None:
    text = edit_line(BASE_RULE, 19, "  actions: [restart-pod]\n  risk: high")
    text = edit_line(text, 21, "  approval: auto")
    assert [str(p) for p in parse_rules(text, "r.yaml")[1]] == [
        "r.yaml:21: remediation.approval: auto needs a low effective risk; it is high (from the declared risk)"
    ]


def test_auto_approval_is_reported_beside_other_problems_of_the_same_rule() -> None:
    text = edit_line(BASE_RULE, 19, "  actions: [restart-pod, delete-namespace]\n  risk: high")
    text = edit_line(text, 21, "  approval: auto")
    text = edit_line(text, 8, "playbook: nope")
    assert [str(p) for p in parse_rules(text, "r.yaml")[1]] == [
        f"r.yaml:8: playbook: unknown playbook 'nope' (allowed: {', '.join(sorted(allowlist.PLAYBOOKS))})",
        f"r.yaml:19: remediation.actions[1]: unknown action 'delete-namespace' (allowed: {ALLOWED_ACTIONS})",
        "r.yaml:21: remediation.approval: auto needs a low effective risk; it is high (from the declared risk)",
    ]


def test_auto_approval_is_reported_when_the_declared_risk_is_invalid_but_an_action_is_not_low() -> None:
    text = edit_line(BASE_RULE, 19, "  actions: [rollback-deployment]\n  risk: extreme")
    text = edit_line(text, 21, "  approval: auto")
    assert [str(p) for p in parse_rules(text, "r.yaml")[1]] == [
        "r.yaml:20: remediation.risk: must be 'low', 'medium' or 'high' (got 'extreme')",
        "r.yaml:21: remediation.approval: auto needs a low effective risk; it is medium "
        "(from actions rollback-deployment)",
    ]


def test_a_file_may_hold_a_list_of_rules_with_lines_per_rule() -> None:
    second = BASE_RULE.replace("name: crash", "name: crash-two").replace(
        "approval: required", "approval: maybe"
    )
    text = (
        "- "
        + BASE_RULE.replace("\n", "\n  ").rstrip()
        + "\n- "
        + second.replace("\n", "\n  ").rstrip()
        + "\n"
    )
    rules, problems = parse_rules(text, "list.yaml")
    assert [(r.rule.name, r.line) for r in rules] == [("crash", 1)]
    assert [str(p) for p in problems] == [
        "list.yaml:48: remediation.approval: must be 'required' or 'auto' (got 'maybe')"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "f.yaml:1: empty file: expected a rule (a mapping) or a list of rules"),
        ("just a string\n", "f.yaml:1: a rule file holds a rule (a mapping) or a list of rules, not a string"),
        ("- 3\n", "f.yaml:1: a rule must be a mapping, not a number"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2: YAML syntax error: expected a single document in the stream but found "
         "another document"),
        ("a: *missing\n", "f.yaml:1: YAML syntax error: found undefined alias 'missing'"),
    ],
)  # fmt: skip
def test_file_level_problems(text: str, expected: str) -> None:
    assert [str(p) for p in parse_rules(text, "f.yaml")[1]] == [expected]


def test_empty_list_holds_no_rules_and_no_problems() -> None:
    assert parse_rules("[]\n", "f.yaml") == ([], [])


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    problems = parse_rules("\n".join(lines) + "\n", "bomb.yaml")[1]
    assert len(problems) == 1
    assert "more than 100000 YAML nodes" in problems[0].message


def test_yaml_is_loaded_safely() -> None:
    text = "!!python/object/apply:os.system ['echo hacked']\n"
    problems = parse_rules(text, "evil.yaml")[1]
    assert len(problems) == 1
    assert (
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'"
        in (problems[0].message)
    )


def test_duplicate_rule_names_across_files(rule_dir: RuleDir) -> None:
    directory = rule_dir({"a.yaml": BASE_RULE, "b.yaml": "# same name again\n" + BASE_RULE})
    assert [str(p) for p in lint_dir(directory)] == [
        f"{directory / 'b.yaml'}:2: duplicate rule name 'crash' (first at {directory / 'a.yaml'}:1)"
    ]


def test_duplicate_names_are_reported_in_the_same_pass_as_other_problems(rule_dir: RuleDir) -> None:
    broken = edit_line(BASE_RULE, 7, "  stauts: firing")
    directory = rule_dir({"a.yaml": edit_line(BASE_RULE, 8, "playbook: nope"), "b.yaml": broken})
    assert [str(p) for p in lint_dir(directory)] == [
        f"{directory / 'a.yaml'}:8: playbook: unknown playbook 'nope' (allowed: pod-failure, rightsizing, rollout-gate, scaling)",
        f"{directory / 'b.yaml'}:1: duplicate rule name 'crash' (first at {directory / 'a.yaml'}:1)",
        f"{directory / 'b.yaml'}:7: unknown key 'stauts' in match (allowed: alertname, labels, status)",
    ]


def test_lint_paths_takes_files_and_directories_together(rule_dir: RuleDir) -> None:
    directory = rule_dir({
        "a.yaml": BASE_RULE.replace("name: crash", "name: from-a"),
        "b.yaml": edit_line(BASE_RULE.replace("name: crash", "name: from-b"), 8, "playbook: nope"),
        "c.yaml": BASE_RULE.replace("name: crash", "name: from-c"),
    })  # fmt: skip
    extra = directory.parent / "extra.rules"
    extra.write_text(BASE_RULE.replace("name: crash", "name: from-a"), encoding="utf-8")
    report = lint_paths([directory, extra, directory / "a.yaml", directory.parent / "missing"])
    assert [Path(f).name for f in report.files] == ["a.yaml", "b.yaml", "c.yaml", "extra.rules"]
    assert [Path(f).name for f in report.files_with_problems] == ["b.yaml", "extra.rules"]
    assert [str(p) for p in report.path_problems] == [
        f"{directory.parent / 'missing'}:1: rules path does not exist"
    ]
    assert sorted(str(p) for p in report.problems) == sorted([
        f"{directory / 'b.yaml'}:8: playbook: unknown playbook 'nope' (allowed: pod-failure, rightsizing, rollout-gate, scaling)",
        f"{extra}:1: duplicate rule name 'from-a' (first at {directory / 'a.yaml'}:1)",
        f"{extra}:1: rule files must end in .yaml; rename this file",
        f"{directory.parent / 'missing'}:1: rules path does not exist",
    ])  # fmt: skip


def test_load_rule_paths_loads_a_single_file_and_a_directory_in_order(rule_dir: RuleDir) -> None:
    directory = rule_dir({"b.yaml": BASE_RULE.replace("name: crash", "name: from-b")})
    single = rule_dir({"a.yaml": BASE_RULE.replace("name: crash", "name: single")}) / "a.yaml"
    assert [rule.name for rule in load_rule_paths([single, directory]).rules] == ["single", "from-b"]
    with pytest.raises(RuleSetError):
        load_rule_paths([single, single.parent, directory / "nope.yaml"])


def test_lint_dir_reports_every_file_sorted(rule_dir: RuleDir) -> None:
    directory = rule_dir({
        "b.yaml": edit_line(BASE_RULE, 8, "playbook: nope"),
        "a.yaml": edit_line(BASE_RULE.replace("name: crash", "name: other"), 7, "  stauts: firing"),
        "notes.txt": "not a rule file",
        ".hidden.yaml": "not: [valid",
    })  # fmt: skip
    assert [(Path(p.file).name, p.line) for p in lint_dir(directory)] == [("a.yaml", 7), ("b.yaml", 8)]


def test_yml_files_are_reported_not_ignored(rule_dir: RuleDir) -> None:
    directory = rule_dir({"a.yaml": BASE_RULE, "b.yml": BASE_RULE})
    assert [str(p) for p in lint_dir(directory)] == [
        f"{directory / 'b.yml'}:1: rule files must end in .yaml; rename this file"
    ]
    report = lint_paths([directory])
    assert [Path(f).name for f in report.files_with_problems] == ["b.yml"]
    assert (len(report.files), report.path_problems) == (2, [])


def test_directory_problems(tmp_path: Path) -> None:
    assert [str(p) for p in lint_dir(tmp_path / "nope")] == [
        f"{tmp_path / 'nope'}:1: rules directory does not exist"
    ]
    assert [str(p) for p in lint_dir(tmp_path)] == [
        f"{tmp_path}:1: no *.yaml rule files in the rules directory"
    ]


def test_non_utf8_file(rule_dir: RuleDir) -> None:
    directory = rule_dir({"a.yaml": BASE_RULE})
    (directory / "a.yaml").write_bytes(b"name: \xff\xfe\n")
    assert [p.message for p in lint_dir(directory)] == ["file is not UTF-8: invalid start byte at byte 6"]


def test_load_rule_dir_raises_with_every_problem(rule_dir: RuleDir) -> None:
    directory = rule_dir({"a.yaml": edit_line(edit_line(BASE_RULE, 8, "playbook: nope"), 17, "  ai: [x]")})
    with pytest.raises(RuleSetError) as caught:
        load_rule_dir(directory)
    assert [p.line for p in caught.value.problems] == [8, 17]
    assert str(caught.value).startswith("2 problems in rules:\n")


def test_load_rule_dir_returns_rules_in_file_order(rule_dir: RuleDir) -> None:
    directory = rule_dir({
        "b.yaml": BASE_RULE.replace("name: crash", "name: from-b"),
        "a.yaml": BASE_RULE.replace("name: crash", "name: from-a"),
    })  # fmt: skip
    assert [rule.name for rule in load_rule_dir(directory).rules] == ["from-a", "from-b"]
