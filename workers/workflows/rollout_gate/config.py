"""The analysis settings of one gate: a ``rollout-gate`` rule's ``rollout:`` section over ``rollouts``.

A gate started by the API or the watch uses the first loaded rule with ``playbook: rollout-gate`` whose
namespace conditions admit the Deployment; without one it runs on the settings alone and never pauses
on its own (the pause then waits for a person).
"""

from __future__ import annotations

from typing import Any

from rules.durations import parse_duration
from rules.matcher import compile_conditions
from rules.model import Rule
from workers.settings import Settings
from workers.workflows.rollout_gate import queries
from workers.workflows.rollout_gate.model import GateConfig

PLAYBOOK = "rollout-gate"


def _admits(rule: Rule, namespace: str, deployment: str) -> bool:
    labels = {"namespace": namespace, "deployment": deployment}
    return all(
        condition.holds(labels)
        for condition in compile_conditions(rule)
        if condition.label in ("namespace", "deployment")
    )


def rule_for(rules: Any, namespace: str, deployment: str, name: str | None = None) -> Rule | None:
    """The ``rollout-gate`` rule for this Deployment (``name``: that rule only)."""
    for rule in rules.current.rules:
        if rule.playbook != PLAYBOOK or (name is not None and rule.name != name):
            continue
        if _admits(rule, namespace, deployment):
            found: Rule = rule
            return found
    return None


def config_for(settings: Settings, rule: Rule | None) -> GateConfig:
    """The gate's settings: the rule's values where it sets them, else ``settings.rollouts``."""
    base = settings.rollouts
    section = rule.rollout if rule is not None else None
    checks = []
    if rule is not None:
        checks = [check.promql for check in rule.validate_.checks if check.promql is not None]
    fields: dict[str, Any] = {
        "rule": rule.name if rule is not None else None,
        "window_s": base.window_s,
        "interval_s": base.interval_s,
        "check_every_s": min(base.check_every_s, base.interval_s),
        "max_error_rate": base.max_error_rate,
        "max_increase": base.max_increase,
        "min_request_rate": base.min_request_rate,
        "max_updated_replicas": base.max_updated_replicas,
        "error_rate_query": queries.DEFAULT_ERROR_RATE,
        "request_rate_query": queries.DEFAULT_REQUEST_RATE,
        "validate_checks": checks or [queries.DEFAULT_VALIDATION],
    }
    if rule is not None:
        fields["validate_after_s"] = rule.validate_.after_s
        fields["validate_for_s"] = rule.validate_.for_s
        fields["expires_after_s"] = rule.remediation.expires_after_s
        fields["allowed_actions"] = list(rule.remediation.actions)
    if section is not None:
        if section.window:
            fields["window_s"] = parse_duration(section.window)
        if section.interval:
            fields["interval_s"] = float(parse_duration(section.interval))
            fields["check_every_s"] = min(base.check_every_s, fields["interval_s"])
        for key in ("max_error_rate", "max_increase", "min_request_rate", "max_updated_replicas"):
            value = getattr(section, key)
            if value is not None:
                fields[key] = value
        fields["auto_pause"] = section.pause == "auto"
        fields["pause_when_inconclusive"] = section.on_inconclusive == "pause"
        if section.queries.error_rate:
            fields["error_rate_query"] = section.queries.error_rate
        if section.queries.request_rate:
            fields["request_rate_query"] = section.queries.request_rate
    return GateConfig(**fields)
