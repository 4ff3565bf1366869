"""Alert labels as rules see them: the condition syntax, and one normalisation of values.

A ``match.labels`` condition is an exact value, ``~regex`` (the whole value matches) or ``!~regex``
(the whole value does not match), as ``=``, ``=~`` and ``!~`` in a Prometheus selector.

A rule's label conditions and its templates must see the same value, or a value can pass one and
mean something else in the other: ``'kube-system '`` (trailing space) would slip past an exclusion
of ``kube-system`` and then render, stripped, as the target namespace ``kube-system``. So every
label value is normalised once, here: missing or null is ``""``, anything else is its text with
surrounding whitespace removed (``str.strip``, which covers tabs, newlines and Unicode spaces).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = ["Operator", "label_value", "normalise_labels", "parse_condition"]


class Operator(StrEnum):
    """How a label condition compares, named as in a Prometheus selector."""

    equal = "="
    regex = "=~"
    not_regex = "!~"


def parse_condition(condition: str) -> tuple[Operator, str]:
    """Split a ``match.labels`` value into its operator and operand (the value or the regex)."""
    if condition.startswith("!~"):
        return Operator.not_regex, condition[2:]
    if condition.startswith("~"):
        return Operator.regex, condition[1:]
    return Operator.equal, condition


def label_value(value: object) -> str:
    """The value a rule matches and renders for one label value (``None`` is ``""``)."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text.strip()


def normalise_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """Every label of ``labels`` with its value normalised by ``label_value``."""
    return {str(name): label_value(value) for name, value in (labels or {}).items()}
