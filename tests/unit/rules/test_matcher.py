"""Matching: alert name index, exact, regex and negated label conditions (RE2), status, order, version,
label normalisation shared with templates, and the reasons a rule does not match."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rules.errors import RuleError
from rules.matcher import RuleSet, mismatches, rule_matches
from rules.model import Rule
from rules.render import render_rule
from tests.support.rule_samples import make_alert

MakeRule = Callable[..., Rule]


def names(rules: list[Rule]) -> list[str]:
    return [rule.name for rule in rules]


def test_exact_alertname_and_label(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("crit", "KubePodCrashLooping", {"severity": "critical"})])
    assert names(rules.match(make_alert(severity="critical"))) == ["crit"]
    assert rules.match(make_alert(severity="warning")) == []
    assert rules.match(make_alert()) == []


def test_no_alertname_match(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("a", "KubePodCrashLooping")])
    assert rules.match(make_alert("SomethingElse")) == []
    assert rules.match({"status": "firing", "labels": {}}) == []
    assert rules.match({"status": "firing"}) == []
    assert rules.match({"labels": {"alertname": ["not", "hashable"]}}) == []


def test_regex_must_match_the_whole_value(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("shop", "KubePodCrashLooping", {"namespace": "~shop|cart"})])
    assert names(rules.match(make_alert(namespace="shop"))) == ["shop"]
    assert names(rules.match(make_alert(namespace="cart"))) == ["shop"]
    assert rules.match(make_alert(namespace="shopping")) == []
    assert rules.match(make_alert(namespace="my-shop")) == []


def test_negated_regex_excludes_whole_values(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("not-system", "KubePodCrashLooping", {"namespace": "!~kube-(system|public)"})])
    assert names(rules.match(make_alert(namespace="shop"))) == ["not-system"]
    assert names(rules.match(make_alert(namespace="kube-system-extra"))) == ["not-system"]
    assert names(rules.match(make_alert())) == ["not-system"]  # a missing label is "", not excluded
    assert rules.match(make_alert(namespace="kube-system")) == []
    assert rules.match(make_alert(namespace="kube-public")) == []


@pytest.mark.parametrize(
    "hostile", ["kube-system ", "kube-system\t", "\tkube-system\n", " kube-system", "kube-system\u00a0"]
)
def test_surrounding_whitespace_cannot_slip_past_an_exclusion(make_rule: MakeRule, hostile: str) -> None:
    # The matcher and the templates see one normalised value: the excluded namespace is excluded
    # however it is padded, and a rule that matches renders the value its conditions tested.
    excluding = make_rule("not-system", "KubePodCrashLooping", {"namespace": "!~kube-system"})
    rules = RuleSet([excluding])
    alert = make_alert(namespace=hostile, pod="coredns-1")
    assert rules.match(alert) == []
    assert not rule_matches(excluding, alert)
    assert [m.message for m in mismatches(excluding, alert)] == [
        "label namespace is 'kube-system', which matches !~kube-system: excluded"
    ]
    exact = make_rule("exact", "KubePodCrashLooping", {"namespace": "kube-system"})
    assert names(RuleSet([exact]).match(alert)) == ["exact"]
    assert render_rule(exact, alert).target["namespace"] == "kube-system"


def test_a_padded_label_renders_as_it_matched(make_rule: MakeRule) -> None:
    rule = make_rule(
        "shop", "KubePodCrashLooping", {"namespace": "~shop"},
        target={"kind": "Pod", "namespace": "{{ alert.labels.namespace }}", "name": "{{ labels.pod }}"},
    )  # fmt: skip
    alert = make_alert(namespace="shop\t", pod=" web-1 ")
    assert names(RuleSet([rule]).match(alert)) == ["shop"]
    assert render_rule(rule, alert).target == {"kind": "Pod", "namespace": "shop", "name": "web-1"}


def test_a_pattern_that_backtracks_exponentially_elsewhere_matches_in_linear_time(
    make_rule: MakeRule,
) -> None:
    # (x+x+)+y takes about 0.5 s on 24 characters with a backtracking engine, doubling with each one
    # more; RE2 answers for 100,000 at once (a backtracking engine would run into the test timeout).
    rules = RuleSet([make_rule("redos", "KubePodCrashLooping", {"team": "~(x+x+)+y"})])
    assert rules.match(make_alert(team="x" * 100_000)) == []
    assert names(rules.match(make_alert(team="x" * 30 + "y"))) == ["redos"]


def test_regexes_use_re2_syntax(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("posix", "KubePodCrashLooping", {"team": "~[[:alpha:]]+-\\pN+\\z"})])
    assert names(rules.match(make_alert(team="payments-42"))) == ["posix"]
    assert rules.match(make_alert(team="payments-x")) == []


def test_leading_tilde_is_matched_with_a_regex(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("tilde", "KubePodCrashLooping", {"team": "~~ops"})])
    assert names(rules.match(make_alert(team="~ops"))) == ["tilde"]
    assert rules.match(make_alert(team="ops")) == []


def test_missing_label_counts_as_empty_string(make_rule: MakeRule) -> None:
    rules = RuleSet([
        make_rule("needs-team", "KubePodCrashLooping", {"team": "~.+"}),
        make_rule("no-team", "KubePodCrashLooping", {"team": ""}),
    ])  # fmt: skip
    assert names(rules.match(make_alert())) == ["no-team"]
    assert names(rules.match(make_alert(team="payments"))) == ["needs-team"]


@pytest.mark.parametrize(
    ("status", "firing", "resolved"),
    [("firing", True, False), ("resolved", False, True), ("any", True, True)],
)
def test_status(make_rule: MakeRule, status: str, firing: bool, resolved: bool) -> None:
    rules = RuleSet([make_rule("r", "KubePodCrashLooping", status=status)])
    assert bool(rules.match(make_alert(status="firing"))) is firing
    assert bool(rules.match(make_alert(status="resolved"))) is resolved


def test_status_defaults_to_firing(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("r", "KubePodCrashLooping")])
    alert = make_alert()
    del alert["status"]
    assert names(rules.match(alert)) == ["r"]


def test_several_alertnames_and_load_order(make_rule: MakeRule) -> None:
    rules = RuleSet([
        make_rule("first", ["A", "B"]),
        make_rule("second", "B"),
        make_rule("third", ["C", "B"], {"x": "1"}),
    ])  # fmt: skip
    assert names(rules.match(make_alert("B", x="1"))) == ["first", "second", "third"]
    assert names(rules.match(make_alert("A"))) == ["first"]
    assert names(rules.match(make_alert("C"))) == []
    assert rules.alertnames == {"A", "B", "C"}


def test_single_alertname_string_is_a_list(make_rule: MakeRule) -> None:
    assert make_rule("r", "A").match.alertname == ["A"]


def test_get_len_iter_contains(make_rule: MakeRule) -> None:
    a, b = make_rule("a", "A"), make_rule("b", "B")
    rules = RuleSet([a, b])
    assert rules.get("b") is b
    assert rules.get("zzz") is None
    assert len(rules) == 2
    assert list(rules) == [a, b]
    assert rules.rules == (a, b)
    assert "a" in rules
    assert len(RuleSet()) == 0


def test_duplicate_names_are_refused(make_rule: MakeRule) -> None:
    with pytest.raises(RuleError, match="duplicate rule name 'a'"):
        RuleSet([make_rule("a", "A"), make_rule("a", "B")])


def test_version_is_a_stable_content_hash(make_rule: MakeRule) -> None:
    one = RuleSet([make_rule("a", "A"), make_rule("b", "B")])
    same = RuleSet([make_rule("a", "A"), make_rule("b", "B")])
    changed = RuleSet([make_rule("a", "A"), make_rule("b", "B", {"x": "1"})])
    reordered = RuleSet([make_rule("b", "B"), make_rule("a", "A")])
    assert one.version == same.version
    assert len({one.version, changed.version, reordered.version}) == 3
    assert len(one.version) == 16


def test_rule_matches_agrees_with_the_index(make_rule: MakeRule) -> None:
    rule = make_rule("r", "KubePodCrashLooping", {"namespace": "!~kube-system"}, status="any")
    assert rule_matches(rule, make_alert(namespace="shop", status="resolved"))
    assert not rule_matches(rule, make_alert(namespace="kube-system"))
    assert not rule_matches(rule, make_alert("Other", namespace="shop"))


def test_mismatches_say_why_a_rule_does_not_match(make_rule: MakeRule) -> None:
    rule = make_rule(
        "strict",
        "KubePodCrashLooping",
        {"severity": "critical", "team": "~pay.*", "namespace": "!~kube-.*", "env": "prod"},
    )
    alert = make_alert("Other", status="resolved", severity="warning", team="search", namespace="kube-system")
    assert [m.as_dict() for m in mismatches(rule, alert)] == [
        {
            "field": "match.alertname",
            "value": "Other",
            "expected": ["KubePodCrashLooping"],
            "message": "alertname 'Other' is not in match.alertname (KubePodCrashLooping)",
        },
        {
            "field": "match.status",
            "value": "resolved",
            "expected": "firing",
            "message": "status 'resolved' is not 'firing' (match.status)",
        },
        {
            "field": "match.labels.severity",
            "value": "warning",
            "expected": "critical",
            "message": "label severity is 'warning', expected exactly 'critical'",
        },
        {
            "field": "match.labels.team",
            "value": "search",
            "expected": "=~pay.*",
            "message": "label team is 'search', which does not match ~pay.* (the whole value must)",
        },
        {
            "field": "match.labels.namespace",
            "value": "kube-system",
            "expected": "!~kube-.*",
            "message": "label namespace is 'kube-system', which matches !~kube-.*: excluded",
        },
        {
            "field": "match.labels.env",
            "value": None,
            "expected": "prod",
            "message": "label env is missing (counts as \"\"), expected exactly 'prod'",
        },
    ]


def test_mismatches_are_empty_exactly_when_the_rule_matches(make_rule: MakeRule) -> None:
    rule = make_rule("r", ["A", "B"], {"team": "~pay.*", "namespace": "!~kube-system"})
    rules = RuleSet([rule])
    alerts = [
        make_alert("A", team="payments", namespace="shop"),
        make_alert("B", team="payments"),
        make_alert("A", team="payments", namespace="kube-system"),
        make_alert("A", team="search", namespace="shop"),
        make_alert("C", team="payments", namespace="shop"),
        make_alert("A", status="resolved", team="payments", namespace="shop"),
        {"status": "firing", "labels": {"team": "payments"}},
    ]
    for alert in alerts:
        assert (mismatches(rule, alert) == []) is bool(rules.match(alert)) is rule_matches(rule, alert), alert
    assert mismatches(rule, alerts[-1])[0].message == (
        "the alert has no alertname label (match.alertname: A, B)"
    )
