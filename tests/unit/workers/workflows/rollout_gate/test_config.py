"""A gate's settings: the rule's ``rollout:`` section over the ``rollouts`` settings."""

from __future__ import annotations

from typing import Any

import yaml

from rules.matcher import RuleSet
from rules.model import Rule
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.workflows.rollout_gate import config, queries


class _Rules:
    def __init__(self, *rules: Rule) -> None:
        self.current = RuleSet(rules)


def library_rule(**rollout: Any) -> Rule:
    data = yaml.safe_load((DEFAULT_RULES_DIR / "rollout-gate.yaml").read_text())
    data["rollout"].update(rollout)
    return Rule.model_validate(data)


def test_without_a_rule_the_settings_apply_and_the_pause_waits_for_a_person() -> None:
    found = config.config_for(Settings(), None)
    assert (found.window_s, found.interval_s, found.max_error_rate) == (120, 10.0, 0.05)
    assert found.auto_pause is False and found.validate_checks == [queries.DEFAULT_VALIDATION]


def test_the_rule_wins_where_it_sets_a_value() -> None:
    rule = library_rule(window="30s", interval="5s", max_increase=0.01, queries={"error_rate": "vector(0)"})
    found = config.config_for(Settings(), rule)
    assert (found.window_s, found.interval_s, found.max_increase, found.auto_pause) == (30, 5.0, 0.01, True)
    assert found.error_rate_query == "vector(0)" and found.request_rate_query != "vector(0)"
    assert found.rule == "rollout-gate" and len(found.validate_checks) == 1


def test_the_rule_must_admit_the_namespace() -> None:
    rules = _Rules(library_rule())
    assert config.rule_for(rules, "shop", "web") is not None
    assert config.rule_for(rules, "kube-system", "coredns") is None
    assert config.rule_for(rules, "shop", "web", name="other") is None
