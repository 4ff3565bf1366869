"""The rule schema: pydantic models for one rule, the checks that need the allowlist, and the JSON Schema.

Every model forbids unknown keys. A ``Rule`` that exists has been fully checked: names come from
``rules.allowlist``, regexes compile, templates parse and use only known variables, every label
value that reaches PromQL goes through the ``promql`` filter, durations parse, and
``approval: auto`` is only allowed when the effective risk is low. ``rules/schema.json`` is
``rule_json_schema()`` written out; a test keeps the two identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from rules.allowlist import ACTIONS, ADVISERS, KUBERNETES_EVIDENCE, PLAYBOOKS, Risk
from rules.durations import DURATION_PATTERN, parse_duration
from rules.labels import Operator, parse_condition
from rules.regex import compile_regex, matches_only_empty
from rules.templating import check_template

__all__ = [
    "SCHEMA_PATH",
    "Check",
    "Evidence",
    "Match",
    "Remediation",
    "Rollout",
    "RolloutQueries",
    "Rule",
    "Target",
    "Validate",
    "effective_risk",
    "rule_json_schema",
    "schema_text",
]

SCHEMA_PATH = Path(__file__).with_name("schema.json")
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
KEY_PATTERN = r"^[a-z_][a-z0-9_]*$"
TargetKind = Literal["Pod", "Deployment", "StatefulSet", "DaemonSet"]
KubernetesCheck = Literal["target_ready", "restarts_stable"]


def _one_of(allowed: Iterable[str], what: str) -> Callable[[str], str]:
    names = sorted(allowed) if not isinstance(allowed, tuple) else list(allowed)

    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"unknown {what} {value!r} (allowed: {', '.join(names)})")
        return value

    return check


def _enum(allowed: Iterable[str]) -> WithJsonSchema:
    names = sorted(allowed) if not isinstance(allowed, tuple) else list(allowed)
    return WithJsonSchema({"type": "string", "enum": names})


def _unique(values: list[Any]) -> list[Any]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"{seen[0]!r} is listed twice")
    return values


def _template(promql: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        problems = check_template(value, promql=promql)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    return check


def _duration(minimum: int) -> Callable[[object], object]:
    def check(value: object) -> object:
        seconds = parse_duration(value)
        if seconds < minimum:
            raise ValueError(f"duration {value!r} must be at least {minimum}s")
        return value

    return check


def _label_matcher(value: str) -> str:
    operator, pattern = parse_condition(value)
    if operator is Operator.equal:
        return value
    compile_regex(pattern)  # raises ValueError with the reason (RE2 syntax, linear time)
    if operator is Operator.regex and matches_only_empty(pattern):
        raise ValueError(
            f"regex {pattern!r} can only match an empty value: a regex must match the whole label value "
            f"(e.g. '~shop-.*'); to match a missing label write \"\", to exclude values write '!~regex'"
        )
    return value


def _label_name(value: str) -> str:
    if not re.fullmatch(LABEL_NAME_PATTERN, value):
        raise ValueError(f"invalid label name {value!r} (letters, digits and _, not starting with a digit)")
    if value == "alertname":
        raise ValueError("match alert names with match.alertname, not match.labels")
    return value


def _rule_name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(
            f"{value!r} is not a valid rule name: use lowercase letters, digits and '-' (at most 63)"
        )
    return value


def _alertname(value: str) -> str:
    if not value or value.startswith("~"):
        raise ValueError(
            f"alert name {value!r} must be an exact, non-empty name (no regex: it is the index key)"
        )
    return value


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


_DURATION_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "2m", "1h30m"]}
)
Duration = Annotated[str, BeforeValidator(_duration(0)), _DURATION_SCHEMA]
PositiveDuration = Annotated[str, BeforeValidator(_duration(1)), _DURATION_SCHEMA]
TargetTemplate = Annotated[str, Field(min_length=1), AfterValidator(_template(promql=False))]
QueryTemplate = Annotated[str, Field(min_length=1), AfterValidator(_template(promql=True))]
LabelName = Annotated[
    str, AfterValidator(_label_name), WithJsonSchema({"type": "string", "pattern": LABEL_NAME_PATTERN})
]
LabelMatcher = Annotated[str, AfterValidator(_label_matcher)]
AlertName = Annotated[str, AfterValidator(_alertname)]
QueryKey = Annotated[str, Field(pattern=KEY_PATTERN, max_length=63)]
ActionName = Annotated[str, AfterValidator(_one_of(ACTIONS, "action")), _enum(ACTIONS)]
PlaybookName = Annotated[str, AfterValidator(_one_of(PLAYBOOKS, "playbook")), _enum(PLAYBOOKS)]
EvidenceKind = Annotated[
    str, AfterValidator(_one_of(KUBERNETES_EVIDENCE, "kubernetes evidence kind")), _enum(KUBERNETES_EVIDENCE)
]
AdviserName = Annotated[str, AfterValidator(_one_of(ADVISERS, "adviser")), _enum(ADVISERS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Match(_Strict):
    """Which alerts the rule handles. Every condition must hold."""

    alertname: Annotated[
        list[AlertName],
        BeforeValidator(_as_list),
        Field(min_length=1),
        AfterValidator(_unique),
        WithJsonSchema(
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
        ),
    ]
    """One or more exact alert names (the `alertname` label); a single name may be a string."""
    labels: dict[LabelName, LabelMatcher] = Field(default_factory=dict)
    """Label conditions: a value, `~regex` (whole value matches), `!~regex` (does not; RE2); missing: ""."""
    status: Literal["firing", "resolved", "any"] = "firing"
    """The alert status the rule handles."""


class Target(_Strict):
    """The Kubernetes object the rule acts on; ``namespace`` and ``name`` are templates."""

    kind: TargetKind
    """Kind of the target object."""
    namespace: TargetTemplate
    """Namespace template, e.g. `{{ labels.namespace }}`."""
    name: TargetTemplate
    """Object name template, e.g. `{{ labels.pod }}`."""


class Evidence(_Strict):
    """What to gather before the playbook diagnoses."""

    prometheus: dict[QueryKey, QueryTemplate] = Field(default_factory=dict)
    """Named PromQL query templates; label values must go through `| promql`."""
    kubernetes: Annotated[list[EvidenceKind], AfterValidator(_unique)] = Field(default_factory=list)
    """Kubernetes evidence kinds to collect."""
    ai: Annotated[list[AdviserName], AfterValidator(_unique)] = Field(default_factory=list)
    """AI advisers to consult, in order; the built-in playbook works without any of them."""


class Remediation(_Strict):
    """Which actions the playbook may propose and how a proposal is approved."""

    actions: Annotated[list[ActionName], AfterValidator(_unique)] = Field(default_factory=list)
    """Allowlisted actions the playbook may propose (`none` is always possible)."""
    risk: Risk | None = None
    """Declared risk; the effective risk is the highest of this and each action's inherent risk."""
    approval: Literal["required", "auto"] = "required"
    """`required`: a person approves. `auto`: approved at once, allowed only at low effective risk."""
    expires_after: PositiveDuration = "1h"
    """How long a proposal waits for a decision before it expires."""

    _expires_after_s: int = PrivateAttr(0)

    @model_validator(mode="wrap")
    @classmethod
    def _auto_needs_low_risk(cls, data: Any, handler: ModelWrapValidatorHandler[Remediation]) -> Remediation:
        # Judged on the raw mapping, so that it is reported even when another key of it is wrong.
        reason = _auto_approval_problem(data) if isinstance(data, dict) else None
        problem = InitErrorDetails(
            type=PydanticCustomError("value_error", "{reason}", {"reason": reason}),
            loc=("approval",),
            input=data.get("approval") if isinstance(data, dict) else None,
        )
        try:
            remediation = handler(data)
        except ValidationError as exc:
            if reason is None or any(error["loc"][:1] == ("approval",) for error in exc.errors()):
                raise
            try:
                others = [
                    InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                    for e in exc.errors()
                ]
                merged = ValidationError.from_exception_data(exc.title, [*others, problem])
            except (TypeError, KeyError, ValueError):  # an error kind that cannot be rebuilt: report the rest
                raise exc from None
            raise merged from None
        if reason is not None:
            raise ValidationError.from_exception_data(cls.__name__, [problem])
        return remediation

    def model_post_init(self, context: Any, /) -> None:
        self._expires_after_s = parse_duration(self.expires_after)

    @property
    def expires_after_s(self) -> int:
        """``expires_after`` in seconds."""
        return self._expires_after_s


class Check(_Strict):
    """One validation check: a PromQL query that holds when it returns a sample, or a Kubernetes check."""

    name: Annotated[str, Field(pattern=KEY_PATTERN, max_length=63)] | None = None
    """Name shown in records; defaults to the Kubernetes check name or `promql_<n>`."""
    promql: QueryTemplate | None = None
    """PromQL template; the check holds when the query returns at least one sample."""
    kubernetes: KubernetesCheck | None = None
    """`target_ready`: the target (or its replacement pods) is Ready. `restarts_stable`: no new restarts."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        if (self.promql is None) == (self.kubernetes is None):
            raise ValueError("a check needs exactly one of 'promql' or 'kubernetes'")
        return self


class Validate(_Strict):
    """How an executed action is validated."""

    after: Duration = "2m"
    """Wait this long after the action before the first check."""
    for_: PositiveDuration = Field(
        default="1h",
        alias="for",
        description="Keep checking for this long; any failed check in the window is a regression.",
    )
    checks: Annotated[list[Check], Field(min_length=1)] = Field(
        default_factory=lambda: [Check(kubernetes="target_ready")]
    )
    """Checks that must all hold; default: the target is Ready."""

    _after_s: int = PrivateAttr(0)
    _for_s: int = PrivateAttr(0)

    @model_validator(mode="after")
    def _unique_check_names(self) -> Validate:
        _unique(self.check_names())
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._after_s = parse_duration(self.after)
        self._for_s = parse_duration(self.for_)

    def check_names(self) -> list[str]:
        """The name of each check, defaults filled in."""
        return [c.name or c.kubernetes or f"promql_{i + 1}" for i, c in enumerate(self.checks)]

    @property
    def after_s(self) -> int:
        """``after`` in seconds."""
        return self._after_s

    @property
    def for_s(self) -> int:
        """``for`` in seconds."""
        return self._for_s


class RolloutQueries(_Strict):
    """PromQL templates of a rollout gate, rendered once per ReplicaSet. They see the rollout as
    `labels`: `namespace`, `deployment`, `replicaset`, `pod_template_hash` (of the ReplicaSet measured),
    `new_hash` and `old_hash`; values go through `| promql`."""

    error_rate: QueryTemplate | None = None
    """5xx answers per second of the ReplicaSet's pods (default: `http_requests_total{code=~"5.."}`
    joined to the ReplicaSet through `kube_pod_owner`)."""
    request_rate: QueryTemplate | None = None
    """All answers per second of the ReplicaSet's pods (default: `http_requests_total`, joined alike)."""


class Rollout(_Strict):
    """How a `rollout-gate` rule analyses a rollout; unset fields come from the `rollouts` settings."""

    window: PositiveDuration | None = None
    """How long the first updated replicas are analysed (default `rollouts.window_s`, 2m)."""
    interval: PositiveDuration | None = None
    """Time between stored analysis rounds (default `rollouts.interval_s`, 10s)."""
    max_error_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    """The new ReplicaSet fails above this 5xx share (default 0.05)."""
    max_increase: Annotated[float, Field(ge=0, le=1)] | None = None
    """It also fails when its share exceeds the old ReplicaSet's by more than this (default: not compared)."""
    min_request_rate: Annotated[float, Field(ge=0)] | None = None
    """Requests per second the new ReplicaSet must serve for a verdict; fewer: inconclusive (default 0.1)."""
    max_updated_replicas: Annotated[int, Field(gt=0)] | None = None
    """End the analysis early, healthy, once this many replicas are updated (default: the whole window)."""
    pause: Literal["auto", "required"] = "required"
    """`auto`: a failing rollout is paused at once (`rollout-pause`, low risk, recorded as automatic);
    `required`: the pause waits for a person like any proposal."""
    on_inconclusive: Literal["record", "pause"] = "record"
    """At the end of an inconclusive window: only record and notify, or also pause."""
    queries: RolloutQueries = Field(default_factory=RolloutQueries)
    """The error and request rate templates."""


class Rule(_Strict):
    """One rule: which alerts, which playbook and target, what evidence, which actions, how to validate."""

    name: Annotated[
        str, AfterValidator(_rule_name), WithJsonSchema({"type": "string", "pattern": NAME_PATTERN})
    ]
    """Unique across the rule directory: lowercase letters, digits and `-`."""
    description: str = ""
    """What the rule is for, shown in proposals and records."""
    match: Match
    """Which alerts the rule handles."""
    playbook: PlaybookName
    """The built-in playbook that diagnoses and proposes."""
    target: Target
    """The object the rule acts on."""
    evidence: Evidence = Field(default_factory=Evidence)
    """What to gather before diagnosis."""
    remediation: Remediation = Field(default_factory=Remediation)
    """Which actions may be proposed and how they are approved."""
    validate_: Validate = Field(
        default_factory=Validate,
        alias="validate",
        description="When and how long to check an executed action, and with what.",
    )
    cooldown: Duration = "30m"
    """After an investigation for a target, ignore the same rule and target for this long."""
    rollout: Rollout | None = None
    """For `playbook: rollout-gate`: how the gate analyses a rollout (docs/rules.md, "Rollout gates")."""

    @model_validator(mode="after")
    def _rollout_fits(self) -> Rule:
        if self.rollout is None:
            return self
        if self.playbook != "rollout-gate":
            raise ValueError("rollout: only a rule with playbook rollout-gate analyses rollouts")
        if self.rollout.pause == "auto" and "rollout-pause" not in self.remediation.actions:
            raise ValueError("rollout.pause: auto needs rollout-pause in remediation.actions")
        return self

    _cooldown_s: int = PrivateAttr(0)

    def model_post_init(self, context: Any, /) -> None:
        self._cooldown_s = parse_duration(self.cooldown)

    @property
    def cooldown_s(self) -> int:
        """``cooldown`` in seconds."""
        return self._cooldown_s


def _auto_approval_problem(data: dict[str, Any]) -> str | None:
    """Why ``approval: auto`` is refused for the raw remediation ``data``, or None when it is not."""
    if data.get("approval") != "auto":
        return None
    raw_actions = data.get("actions")
    actions = (
        [a for a in raw_actions if isinstance(a, str) and a in ACTIONS]
        if isinstance(raw_actions, list)
        else []
    )
    raw_risk = data.get("risk")
    declared = Risk(raw_risk) if isinstance(raw_risk, str) and raw_risk in Risk.__members__ else None
    risk = _effective(actions, declared)
    if risk is Risk.low:
        return None
    raisers = [a for a in actions if ACTIONS[a] is not Risk.low]
    why = f"actions {', '.join(raisers)}" if raisers else "the declared risk"
    return f"auto needs a low effective risk; it is {risk.value} (from {why})"


def _effective(actions: Iterable[str], declared: Risk | None) -> Risk:
    risks = [ACTIONS[a] for a in actions if a in ACTIONS]
    if declared is not None:
        risks.append(declared)
    return max(risks, key=lambda r: r.rank, default=Risk.low)


def effective_risk(rule: Rule) -> Risk:
    """The highest of the rule's declared risk and each of its actions' inherent risk (low if none)."""
    return _effective(rule.remediation.actions, rule.remediation.risk)


def rule_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a rule file: one rule, or a list of rules."""
    rule = Rule.model_json_schema(by_alias=True)
    defs = rule.pop("$defs", {})
    defs["Rule"] = rule
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "aiops-responder rule file",
        "description": "One rule (a mapping) or a list of rules. See docs/rules.md.",
        "anyOf": [{"$ref": "#/$defs/Rule"}, {"type": "array", "items": {"$ref": "#/$defs/Rule"}}],
        "$defs": defs,
    }


def schema_text() -> str:
    """``rule_json_schema()`` as the exact text of ``rules/schema.json``."""
    return json.dumps(rule_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Regenerate ``rules/schema.json`` (run after changing a model)."""
    path.write_text(schema_text(), encoding="utf-8")
