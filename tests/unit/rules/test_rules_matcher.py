"""Matching: alert name index, exact and regex label conditions, status, order, version."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rules.errors import RuleError
from rules.matcher import RuleSet, rule_matches
from rules.model import Rule
from tests.unit.rules.samples import make_alert

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


def test_negative_lookahead(make_rule: MakeRule) -> None:
    rules = RuleSet([make_rule("not-system", "KubePodCrashLooping", {"namespace": "~(?!kube-system$).*"})])
    assert names(rules.match(make_alert(namespace="shop"))) == ["not-system"]
    assert names(rules.match(make_alert(namespace="kube-system-extra"))) == ["not-system"]
    assert rules.match(make_alert(namespace="kube-system")) == []


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
    rule = make_rule("r", "KubePodCrashLooping", {"namespace": "~(?!kube-system$).*"}, status="any")
    assert rule_matches(rule, make_alert(namespace="shop", status="resolved"))
    assert not rule_matches(rule, make_alert(namespace="kube-system"))
    assert not rule_matches(rule, make_alert("Other", namespace="shop"))
