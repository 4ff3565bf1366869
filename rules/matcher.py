"""``RuleSet``: an immutable, indexed set of rules that finds the rules matching an alert.

Rules are indexed by alert name, so matching costs one dict lookup plus the label conditions of
the few rules that name that alert, however many rules the set holds. Within one alert name,
rules keep their load order (files sorted by name, rules in file order). A label condition is an
exact value or ``~regex`` matched against the whole value; a label the alert lacks counts as
the empty string, as in Prometheus.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rules.errors import RuleError
from rules.model import Rule, effective_risk

# effective_risk lives in rules.model; it is re-exported here for callers that import it with RuleSet.
__all__ = ["LabelCondition", "RuleSet", "compile_conditions", "effective_risk", "rule_matches"]


@dataclass(frozen=True, slots=True)
class LabelCondition:
    """One ``match.labels`` entry, compiled: an exact value or a full-match regex."""

    label: str
    exact: str | None
    pattern: re.Pattern[str] | None

    def holds(self, labels: Mapping[str, Any]) -> bool:
        """True when the alert's value for ``label`` satisfies this condition."""
        value = labels.get(self.label, "")
        if value.__class__ is not str:
            value = "" if value is None else str(value)
        if self.pattern is not None:
            return self.pattern.fullmatch(value) is not None
        return bool(value == self.exact)


def compile_conditions(rule: Rule) -> tuple[LabelCondition, ...]:
    """Compile a rule's ``match.labels``, exact values first as they are cheaper to test.

    The model has already checked every regex.
    """
    exact, regex = [], []
    for label, value in rule.match.labels.items():
        if value.startswith("~"):
            regex.append(LabelCondition(label, None, re.compile(value[1:])))
        else:
            exact.append(LabelCondition(label, value, None))
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
    if labels.get("alertname") not in rule.match.alertname:
        return False
    entry = _Entry(rule, _STATUSES.get(rule.match.status, _ANY_STATUS), compile_conditions(rule))
    return entry.holds(labels, alert.get("status", "firing"))


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
        entries = self._index.get(alertname) if isinstance(alertname, str) else None
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
