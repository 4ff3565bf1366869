"""``RuleSet``: an immutable, indexed set of rules that finds the rules matching an alert.

Rules are indexed by alert name, so matching costs one dict lookup plus the label conditions of
the few rules that name that alert, however many rules the set holds. Within one alert name,
rules keep their load order (files sorted by name, rules in file order). A label condition is an
exact value, ``~regex`` or ``!~regex``, matched against the whole value with RE2 (linear time); a
label the alert lacks counts as the empty string, as in Prometheus. Values are normalised by
``rules.labels.label_value`` (surrounding whitespace removed), the same way templates see them.
``mismatches`` says why a rule does not match an alert, for ``aiops rules test``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rules.errors import RuleError
from rules.labels import Operator, label_value, parse_condition
from rules.model import Rule, effective_risk
from rules.regex import Regex, compile_regex

# effective_risk lives in rules.model; it is re-exported here for callers that import it with RuleSet.
__all__ = [
    "LabelCondition",
    "Mismatch",
    "RuleSet",
    "compile_conditions",
    "effective_risk",
    "mismatches",
    "rule_matches",
]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One reason why a rule does not match an alert: the rule field, the alert's value, what was expected."""

    field: str
    message: str
    value: str | None
    expected: str | list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        expected = list(self.expected) if isinstance(self.expected, list) else self.expected
        return {"field": self.field, "value": self.value, "expected": expected, "message": self.message}


# RE2 through its Python binding costs microseconds a call, and label values repeat (namespaces,
# severities), so results are remembered per (pattern, value): bounded, and cleared when full.
_MATCHED: dict[tuple[str, str], bool] = {}
_MEMO_ENTRIES = 8192
_MEMO_VALUE_CHARS = 128


@dataclass(frozen=True, slots=True)
class LabelCondition:
    """One ``match.labels`` entry, compiled: an exact value, or a full-match regex (maybe negated)."""

    label: str
    operator: Operator
    operand: str
    pattern: Regex | None

    def holds(self, labels: Mapping[str, Any]) -> bool:
        """True when the alert's value for ``label`` satisfies this condition."""
        value = label_value(labels.get(self.label))
        if self.pattern is None:
            return value == self.operand
        key = (self.operand, value)
        matched = _MATCHED.get(key)
        if matched is None:
            matched = self.pattern.fullmatch(value) is not None
            if len(value) <= _MEMO_VALUE_CHARS:
                if len(_MATCHED) >= _MEMO_ENTRIES:
                    _MATCHED.clear()
                _MATCHED[key] = matched
        return matched is not (self.operator is Operator.not_regex)

    def explain(self, labels: Mapping[str, Any]) -> Mismatch | None:
        """Why the condition fails for ``labels``, or None when it holds."""
        if self.holds(labels):
            return None
        raw = labels.get(self.label)
        value = None if raw is None else label_value(raw)
        shown = 'is missing (counts as "")' if value is None else f"is {value!r}"
        if self.operator is Operator.equal:
            message = f"label {self.label} {shown}, expected exactly {self.operand!r}"
        elif self.operator is Operator.regex:
            message = (
                f"label {self.label} {shown}, which does not match ~{self.operand} (the whole value must)"
            )
        else:
            message = f"label {self.label} {shown}, which matches !~{self.operand}: excluded"
        expected = self.operand if self.operator is Operator.equal else f"{self.operator}{self.operand}"
        return Mismatch(f"match.labels.{self.label}", message, value, expected)


def compile_conditions(rule: Rule) -> tuple[LabelCondition, ...]:
    """Compile a rule's ``match.labels``, exact values first as they are cheaper to test.

    The model has already checked every regex.
    """
    exact, regex = [], []
    for label, text in rule.match.labels.items():
        operator, operand = parse_condition(text)
        if operator is Operator.equal:
            exact.append(LabelCondition(label, operator, operand, None))
        else:
            regex.append(LabelCondition(label, operator, operand, compile_regex(operand)))
    return (*exact, *regex)


@dataclass(frozen=True, slots=True)
class _Entry:
    rule: Rule
    statuses: frozenset[str]
    conditions: tuple[LabelCondition, ...]

    def holds(self, labels: Mapping[str, Any], status: str) -> bool:
        if status not in self.statuses:
            return False
        for condition in self.conditions:  # noqa: SIM110 - a plain loop is measurably cheaper than all()
            if not condition.holds(labels):
                return False
        return True


_STATUSES = {"firing": frozenset({"firing"}), "resolved": frozenset({"resolved"})}
_ANY_STATUS = frozenset({"firing", "resolved"})


def rule_matches(rule: Rule, alert: Mapping[str, Any]) -> bool:
    """True when ``rule`` matches ``alert`` (unindexed; ``RuleSet.match`` is the fast path)."""
    labels = alert.get("labels") or {}
    if label_value(labels.get("alertname")) not in rule.match.alertname:
        return False
    entry = _Entry(rule, _STATUSES.get(rule.match.status, _ANY_STATUS), compile_conditions(rule))
    return entry.holds(labels, alert.get("status", "firing"))


def mismatches(rule: Rule, alert: Mapping[str, Any]) -> list[Mismatch]:
    """Every reason why ``rule`` does not match ``alert``: empty exactly when it matches."""
    labels = alert.get("labels") or {}
    found: list[Mismatch] = []
    raw_name = labels.get("alertname")
    alertname = None if raw_name is None else label_value(raw_name)
    if alertname not in rule.match.alertname:
        listed = ", ".join(rule.match.alertname)
        message = (
            f"the alert has no alertname label (match.alertname: {listed})"
            if alertname is None
            else f"alertname {alertname!r} is not in match.alertname ({listed})"
        )
        found.append(
            Mismatch(
                "match.alertname",
                message,
                alertname,
                list(rule.match.alertname),
            )
        )
    status = alert.get("status", "firing")
    if status not in _STATUSES.get(rule.match.status, _ANY_STATUS):
        found.append(
            Mismatch(
                "match.status",
                f"status {status!r} is not {rule.match.status!r} (match.status)",
                str(status),
                rule.match.status,
            )
        )
    by_label = {condition.label: condition for condition in compile_conditions(rule)}
    for label in rule.match.labels:  # in the rule's own order
        mismatch = by_label[label].explain(labels)
        if mismatch is not None:
            found.append(mismatch)
    return found


class RuleSet:
    """An immutable set of rules with unique names, indexed by alert name."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: tuple[Rule, ...] = tuple(rules)
        self._by_name: dict[str, Rule] = {}
        index: dict[str, list[_Entry]] = {}
        for rule in self._rules:
            if rule.name in self._by_name:
                raise RuleError(f"duplicate rule name {rule.name!r}")
            self._by_name[rule.name] = rule
            entry = _Entry(rule, _STATUSES.get(rule.match.status, _ANY_STATUS), compile_conditions(rule))
            for alertname in rule.match.alertname:
                index.setdefault(alertname, []).append(entry)
        self._index: dict[str, tuple[_Entry, ...]] = {name: tuple(entries) for name, entries in index.items()}
        self._version = _content_hash(self._rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, in load order."""
        return self._rules

    @property
    def version(self) -> str:
        """A stable hash of the rules' content and order: equal sets have equal versions."""
        return self._version

    @property
    def alertnames(self) -> frozenset[str]:
        """Every alert name some rule matches."""
        return frozenset(self._index)

    def match(self, alert: Mapping[str, Any]) -> list[Rule]:
        """The rules that match ``alert`` (the receiver's normalised dict), in load order."""
        labels = alert.get("labels")
        if not labels:
            return []
        alertname = labels.get("alertname")
        entries = self._index.get(alertname.strip()) if isinstance(alertname, str) else None
        if not entries:
            return []
        status = alert.get("status", "firing")
        return [entry.rule for entry in entries if entry.holds(labels, status)]

    def get(self, name: str) -> Rule | None:
        """The rule called ``name``, or None."""
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __repr__(self) -> str:
        return f"RuleSet({len(self._rules)} rules, version={self._version})"


def _content_hash(rules: Iterable[Rule]) -> str:
    content = [rule.model_dump(mode="json", by_alias=True) for rule in rules]
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]
