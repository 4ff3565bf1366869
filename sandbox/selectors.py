"""Label and field selectors, parsed and matched the way the API server does.

Label selectors support ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key`` and ``!key``; field
selectors support ``=``, ``==`` and ``!=`` on the fields each kind indexes (others are rejected).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.errors import BadRequest

Matcher = Callable[[dict[str, Any]], bool]

_COMMON_FIELDS = {"metadata.name", "metadata.namespace"}
_FIELDS: dict[str, set[str]] = {
    "Pod": {
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
    },
    "Event": {
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    },
    "Secret": {"type"},
    "Namespace": {"status.phase"},
    "Node": {"spec.unschedulable"},
    "ReplicaSet": {"status.replicas"},
    "Job": {"status.successful"},
}  # fmt: skip

_REQUIREMENT = re.compile(r"^\s*(?P<key>[A-Za-z0-9._/-]+)\s*(?P<op>notin|in)\s*\((?P<values>[^)]*)\)\s*$")
_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside ``(...)``."""
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _check_key(key: str, selector: str) -> str:
    if not _KEY.match(key):
        raise BadRequest(f"unable to parse requirement: invalid label key {key!r} in selector {selector!r}")
    return key


def _label_requirement(text: str, selector: str) -> Callable[[dict[str, str]], bool]:
    match = _REQUIREMENT.match(text)
    if match:
        key = _check_key(match["key"], selector)
        values = {v.strip() for v in match["values"].split(",") if v.strip()}
        if match["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in text:
            key, value = (s.strip() for s in text.split(op, 1))
            _check_key(key, selector)
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if text.startswith("!"):
        key = _check_key(text[1:].strip(), selector)
        return lambda labels: key not in labels
    key = _check_key(text, selector)
    return lambda labels: key in labels


def label_matcher(selector: str | None) -> Matcher:
    """A predicate on objects for a ``labelSelector`` query string (empty matches everything)."""
    if not selector:
        return lambda obj: True
    requirements = [_label_requirement(part, selector) for part in _split(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(req(labels) for req in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, dict):  # Event "source" indexes source.component
        return str(node.get("component", ""))
    return str(node)


def field_matcher(selector: str | None, kind: str) -> Matcher:
    """A predicate for a ``fieldSelector``; unknown fields raise BadRequest like the API server."""
    if not selector:
        return lambda obj: True
    allowed = _COMMON_FIELDS | _FIELDS.get(kind, set())
    tests: list[tuple[str, bool, str]] = []
    for part in _split(selector):
        for op in ("!=", "==", "="):
            if op in part:
                field, value = (s.strip() for s in part.split(op, 1))
                break
        else:
            raise BadRequest(f"invalid selector: {selector!r}; can't understand {part!r}")
        if field not in allowed:
            raise BadRequest(f"field label not supported: {field}")
        tests.append((field, op == "!=", value))

    def matches(obj: dict[str, Any]) -> bool:
        return all((_field_value(obj, f) == v) != negate for f, negate, v in tests)

    return matches


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Whether a ``LabelSelector`` object (matchLabels / matchExpressions) selects ``labels``."""
    if not selector:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
        ok = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True


def selector_string(selector: dict[str, Any] | None) -> str:
    """A ``LabelSelector`` object written as a query string (for Scale status and metrics)."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr["operator"], expr["key"], ",".join(sorted(expr.get("values") or []))
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                op, f"!{key}"
            )
        )
    return ",".join(parts)
