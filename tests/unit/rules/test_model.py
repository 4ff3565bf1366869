"""The rule model: durations, seconds parsed at load, effective risk, defaults, and the published schema."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from rules.allowlist import Risk
from rules.durations import format_duration, parse_duration
from rules.model import SCHEMA_PATH, Rule, effective_risk, rule_json_schema, schema_text
from tests.support.rule_samples import BASE_RULE


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("2m", 120),
        ("1h", 3600),
        ("1h30m", 5400),
        ("7d", 604_800),
        ("1d2h3m4s", 93_784),
        ("0s", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must not be empty"),
        ("30", "has no unit; write 30s or 30m"),
        ("30m1h", "largest first"),
        ("1.5h", "whole numbers"),
        ("1w", "units d, h, m, s"),
        (" 1h", "invalid duration"),
        ("-1s", "invalid duration"),
        ("\u0661h", "invalid duration"),  # an Arabic-Indic digit
        (30, "must be a string with a unit"),
    ],
)
def test_parse_duration_errors(text: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 90, 3600, 5400, 86_400, 93_784])
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_seconds_are_parsed_at_load(rule_data: dict[str, Any]) -> None:
    rule_data["remediation"]["expires_after"] = "1h30m"
    rule_data["validate"].update({"after": "90s", "for": "2h"})
    rule_data["cooldown"] = "45m"
    rule = Rule.model_validate(rule_data)
    assert rule.remediation.expires_after_s == 5400
    assert (rule.validate_.after_s, rule.validate_.for_s) == (90, 7200)
    assert rule.cooldown_s == 2700


def test_defaults() -> None:
    rule = Rule.model_validate({
        "name": "minimal",
        "match": {"alertname": "A"},
        "playbook": "pod-failure",
        "target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
    })  # fmt: skip
    assert rule.match.status == "firing"
    assert rule.remediation.actions == []
    assert rule.remediation.approval == "required"
    assert rule.remediation.expires_after_s == 3600
    assert (rule.validate_.after_s, rule.validate_.for_s) == (120, 3600)
    assert rule.validate_.check_names() == ["target_ready"]
    assert rule.cooldown_s == 1800
    assert effective_risk(rule) is Risk.low


@pytest.mark.parametrize(
    ("actions", "declared", "expected"),
    [
        ([], None, Risk.low),
        (["restart-pod", "raise-memory-limit"], None, Risk.low),
        (["restart-pod", "rollback-deployment"], None, Risk.medium),
        (["restart-pod"], "high", Risk.high),
        (["rollback-deployment"], "low", Risk.medium),
    ],
)
def test_effective_risk(
    rule_data: dict[str, Any], actions: list[str], declared: str | None, expected: Risk
) -> None:
    rule_data["remediation"] = {"actions": actions, "risk": declared}
    assert effective_risk(Rule.model_validate(rule_data)) is expected


def test_rules_are_immutable(rule_data: dict[str, Any]) -> None:
    rule = Rule.model_validate(rule_data)
    with pytest.raises(ValidationError, match="frozen"):
        setattr(rule, "name", "other")  # noqa: B010 - assignment mypy would refuse on a frozen model


def test_duplicate_list_entries_are_refused(rule_data: dict[str, Any]) -> None:
    rule_data["remediation"]["actions"] = ["restart-pod", "restart-pod"]
    with pytest.raises(ValidationError, match="'restart-pod' is listed twice"):
        Rule.model_validate(rule_data)


def test_check_names_must_be_unique(rule_data: dict[str, Any]) -> None:
    rule_data["validate"]["checks"] = [{"kubernetes": "target_ready"}, {"kubernetes": "target_ready"}]
    with pytest.raises(ValidationError, match="'target_ready' is listed twice"):
        Rule.model_validate(rule_data)


def test_schema_file_is_generated_from_the_model() -> None:
    regenerate = ".venv/bin/python -c 'from rules.model import write_schema; write_schema()'"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        f"rules/schema.json is stale: run {regenerate}"
    )


def test_schema_shape() -> None:
    schema = rule_json_schema()
    rule = schema["$defs"]["Rule"]
    assert rule["additionalProperties"] is False
    assert set(rule["required"]) == {"name", "match", "playbook", "target"}
    assert set(rule["properties"]) >= {"validate", "cooldown", "remediation"}
    assert "for" in schema["$defs"]["Validate"]["properties"]
    actions = schema["$defs"]["Remediation"]["properties"]["actions"]["items"]["enum"]
    assert actions == [
        "adjust-probe",
        "create-hpa",
        "patch-hpa",
        "patch-resources",
        "raise-memory-limit",
        "restart-pod",
        "rollback-deployment",
        "rollout-pause",
        "rollout-resume",
        "rollout-undo",
    ]
    assert all(d.get("additionalProperties") is False for n, d in schema["$defs"].items() if n != "Risk")
    assert all(p.get("description") for p in rule["properties"].values())


def test_schema_accepts_the_base_rule_and_rejects_unknown_keys() -> None:
    import jsonschema
    import yaml

    data = yaml.safe_load(BASE_RULE)
    jsonschema.validate(data, rule_json_schema())
    jsonschema.validate([data, data], rule_json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "colldown": "1m"}, rule_json_schema())
    json.dumps(rule_json_schema())
