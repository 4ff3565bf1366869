"""The rule-templated PromQL of a gate: rendered per ReplicaSet, every value through the escaping filter."""

from __future__ import annotations

from rules.templating import check_template
from workers.workflows.rollout_gate import queries
from workers.workflows.rollout_gate.model import GateConfig

CONFIG = GateConfig(
    error_rate_query=queries.DEFAULT_ERROR_RATE, request_rate_query=queries.DEFAULT_REQUEST_RATE
)


def test_the_defaults_are_valid_promql_templates() -> None:
    for template in (queries.DEFAULT_ERROR_RATE, queries.DEFAULT_REQUEST_RATE, queries.DEFAULT_VALIDATION):
        assert check_template(template, promql=True) == []


def test_labels_carry_both_hashes_and_the_measured_one() -> None:
    labels = queries.labels_for("shop", "web", "web-7d9f", "7d9f", "5c4b")
    assert labels == {
        "namespace": "shop",
        "deployment": "web",
        "replicaset": "web-7d9f",
        "pod_template_hash": "7d9f",
        "new_hash": "7d9f",
        "old_hash": "5c4b",
    }


def test_rendered_queries_select_the_replicaset_pods() -> None:
    rendered = queries.rendered(CONFIG, queries.labels_for("shop", "web", "web-7d9f", "7d9f", None))
    assert 'owner_name="web-7d9f"' in rendered["error_rate"] and 'code=~"5.."' in rendered["error_rate"]
    assert 'owner_name="web-7d9f"' in rendered["request_rate"] and "code" not in rendered["request_rate"]


def test_hostile_names_cannot_change_the_query() -> None:
    hostile = 'x"} or vector(1) #'
    rendered = queries.rendered(CONFIG, queries.labels_for(hostile, "web", hostile, None, None))
    for query in rendered.values():
        assert r'namespace="x\"} or vector(1) #"' in query
        assert r'owner_name="x\"} or vector(1) #"' in query
