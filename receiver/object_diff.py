"""The change a proposal makes, as a person reads it: the object before and after, and their YAML diff.

"Before" is the snapshot execution took, or, while nothing has run, the object as the cluster serves it
now (a read; nothing is written). "After" is that object with the plan's exact patch applied here, in
the three PATCH formats the plans use: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
strategic merge patch (lists that Kubernetes merges by a key, such as containers by ``name``). Only the
spec is shown, redacted: status and bookkeeping are noise here, and secrets never reach a page.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml

from workers.redaction import redact_value
from workers.spine.plans import Plan

# patchMergeKey of the pod-template lists a plan may touch (the longest field path wins).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "ports": "containerPort",
    "metrics": "",  # an HPA's metrics list is replaced, as the API server does
}
CONTEXT_LINES = 4


class PatchProblem(ValueError):
    """The patch does not apply to the object shown (it changed, or the patch is malformed)."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_patch(target: Any, patch: Any, name: str = "") -> Any:
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        result = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if key.startswith("$"):
                continue
            if value is None:
                result.pop(key, None)
            else:
                result[key] = strategic_patch(result.get(key), value, key)
        return result
    if isinstance(patch, list) and MERGE_KEYS.get(name) and isinstance(target, list):
        key = MERGE_KEYS[name]
        merged = [copy.deepcopy(item) for item in target]
        for item in patch:
            if not isinstance(item, dict) or key not in item:
                raise PatchProblem(f"{name}: an item without its merge key {key}")
            at = next((i for i, old in enumerate(merged) if old.get(key) == item[key]), None)
            if item.get("$patch") == "delete":
                if at is not None:
                    merged.pop(at)
            elif at is None:
                merged.append(strategic_patch({}, item, name))
            else:
                merged[at] = strategic_patch(merged[at], item, name)
        return merged
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise PatchProblem(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def json_patch(target: Any, operations: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(target)
    for op in operations:
        parts = _pointer(str(op.get("path", "")))
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.get(part)
            if parent is None:
                raise PatchProblem(f"{op.get('path')}: no such path in the object")
        last, verb = parts[-1], op.get("op")
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if verb == "remove":
                parent.pop(index)
            elif verb == "add":
                parent.insert(index, copy.deepcopy(op.get("value")))
            elif verb == "replace":
                parent[index] = copy.deepcopy(op.get("value"))
        elif verb == "remove":
            parent.pop(last, None)
        elif verb in {"add", "replace"}:
            parent[last] = copy.deepcopy(op.get("value"))
        elif verb != "test":
            raise PatchProblem(f"unsupported JSON patch op {verb!r}")
    return doc


def apply(obj: dict[str, Any] | None, plan: Plan) -> dict[str, Any] | None:
    """``obj`` as ``plan`` leaves it: None when the plan deletes it, the new object when it creates one."""
    if plan.verb == "delete":
        return None
    if plan.verb == "create":
        return copy.deepcopy(plan.patch) if isinstance(plan.patch, dict) else None
    if obj is None:
        raise PatchProblem(f"{plan.kind} {plan.namespace}/{plan.name} could not be read")
    try:
        if plan.patch_type == "json":
            return dict(json_patch(obj, list(plan.patch or [])))
        if plan.patch_type == "merge":
            return dict(merge_patch(obj, plan.patch))
        return dict(strategic_patch(obj, plan.patch))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise PatchProblem(f"the patch does not apply: {exc}") from exc


def shown_part(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """What of an object the diff shows: its spec (what every plan changes), redacted."""
    if obj is None:
        return None
    return {"spec": redact_value(obj.get("spec") or {})}


def as_yaml(value: Any) -> str:
    if value is None:
        return ""
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)


@dataclass
class DiffLine:
    kind: str  # "same" | "add" | "del" | "gap"
    text: str


@dataclass
class Change:
    """What the detail page shows of the change."""

    before_label: str
    after_label: str
    before_yaml: str = ""
    after_yaml: str = ""
    lines: list[DiffLine] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    problem: str | None = None


def diff_lines(before: str, after: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """A unified diff of two YAML texts as typed lines, with a gap line between hunks."""
    lines: list[DiffLine] = []
    raw = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context))
    for row in raw[2:]:  # the ---/+++ header names nothing a reader needs
        if row.startswith("@@"):
            lines.append(DiffLine("gap", "…"))
        elif row.startswith("+"):
            lines.append(DiffLine("add", row[1:]))
        elif row.startswith("-"):
            lines.append(DiffLine("del", row[1:]))
        else:
            lines.append(DiffLine("same", row[1:]))
    return lines


def change_of(
    plan: Plan, before: dict[str, Any] | None, before_label: str, after: dict[str, Any] | None = None
) -> Change:
    """The change ``plan`` makes to ``before``; ``after`` when it is known (the object after execution)."""
    label = "after the change" if after is None else "after the change (as the cluster served it)"
    change = Change(before_label=before_label, after_label=label)
    try:
        result = after if after is not None else apply(before, plan)
    except PatchProblem as exc:
        change.problem = str(exc)
        change.before_yaml = as_yaml(shown_part(before))
        return change
    change.before_yaml = as_yaml(shown_part(before))
    change.after_yaml = as_yaml(shown_part(result))
    change.lines = diff_lines(change.before_yaml, change.after_yaml)
    change.added = sum(1 for line in change.lines if line.kind == "add")
    change.removed = sum(1 for line in change.lines if line.kind == "del")
    return change
