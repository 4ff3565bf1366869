"""render_rule: target, queries and checks for one alert, with errors that name the rule and field."""

from __future__ import annotations

from typing import Any

import pytest

from rules.errors import RuleRenderError
from rules.model import Rule
from rules.render import render_rule
from tests.support.rule_samples import make_alert

RESTARTS = "increase(kube_pod_container_status_restarts_total{{namespace={ns}, pod={pod}}}[{window}])"


@pytest.fixture
def rule(rule_data: dict[str, Any]) -> Rule:
    return Rule.model_validate(rule_data)


def test_render_rule(rule: Rule) -> None:
    rendered = render_rule(rule, make_alert(namespace="shop", pod="checkout-7d9f-abcde"))
    assert rendered.rule == "crash"
    assert rendered.target == {"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f-abcde"}
    assert rendered.queries == {
        "restarts_1h": RESTARTS.format(ns='"shop"', pod='"checkout-7d9f-abcde"', window="1h"),
    }
    assert rendered.checks == [
        {
            "name": "promql_1",
            "promql": RESTARTS.format(ns='"shop"', pod='"checkout-7d9f-abcde"', window="5m") + " == 0",
        },
        {"name": "target_ready", "kubernetes": "target_ready"},
    ]
    assert rendered.as_dict()["target"] == rendered.target


def test_hostile_label_reaches_a_query_as_one_literal(rule_data: dict[str, Any]) -> None:
    rule_data["target"]["name"] = "checkout"
    rule = Rule.model_validate(rule_data)
    rendered = render_rule(rule, make_alert(namespace="shop", pod='x"} or vector(1) #'))
    assert rendered.queries["restarts_1h"] == RESTARTS.format(
        ns='"shop"', pod=r'"x\"} or vector(1) #"', window="1h"
    )


def test_missing_label_names_rule_and_field(rule: Rule) -> None:
    with pytest.raises(RuleRenderError) as caught:
        render_rule(rule, make_alert(namespace="shop"))
    error = caught.value
    assert (error.rule, error.field) == ("crash", "target.name")
    assert str(error) == "rule 'crash': target.name: undefined value: 'dict object' has no attribute 'pod'"


def test_error_in_a_query_names_the_query(rule_data: dict[str, Any]) -> None:
    rule_data["evidence"]["prometheus"]["by_team"] = "up{team={{ labels.team | promql }}}"
    rule = Rule.model_validate(rule_data)
    with pytest.raises(RuleRenderError) as caught:
        render_rule(rule, make_alert(namespace="shop", pod="p"))
    assert caught.value.field == "evidence.prometheus.by_team"


@pytest.mark.parametrize(
    ("labels", "field", "detail"),
    [
        (
            {"namespace": "../secrets", "pod": "p"},
            "target.namespace",
            "'../secrets' is not a valid Kubernetes namespace",
        ),
        ({"namespace": "shop", "pod": "a/b"}, "target.name", "'a/b' is not a valid Kubernetes Pod name"),
        ({"namespace": "shop", "pod": ""}, "target.name", "'' is not a valid Kubernetes Pod name"),
        ({"namespace": "x" * 64, "pod": "p"}, "target.namespace", "is not a valid Kubernetes namespace"),
    ],
)
def test_target_must_be_a_valid_kubernetes_name(
    rule: Rule, labels: dict[str, str], field: str, detail: str
) -> None:
    with pytest.raises(RuleRenderError, match="is not a valid Kubernetes") as caught:
        render_rule(rule, make_alert(**labels))
    assert caught.value.field == field
    assert detail in caught.value.detail


def test_target_names_with_dots_are_valid(rule: Rule) -> None:
    rendered = render_rule(rule, make_alert(namespace="shop", pod="web.v2-0"))
    assert rendered.target["name"] == "web.v2-0"


def test_unsafe_access_in_a_rule_built_in_code_is_a_render_error(rule_data: dict[str, Any]) -> None:
    # model_copy(update=...) skips validation, as a rule built without the loader might.
    target = Rule.model_validate(rule_data).target.model_copy(update={"name": "{{ labels.__class__ }}"})
    rule = Rule.model_validate(rule_data).model_copy(update={"target": target})
    with pytest.raises(RuleRenderError, match=r"rule 'crash': target\.name: unsafe template access"):
        render_rule(rule, make_alert(namespace="shop", pod="p"))
