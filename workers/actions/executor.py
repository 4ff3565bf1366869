"""Carry out an approved plan: guard, namespace check, server-side dry run, snapshot, apply."""

from __future__ import annotations

from typing import Any

from workers.actions.base import Plan, apply_plan, check_guard, read_object, revert_plan
from workers.errors import ActionRefused, NotFound
from workers.settings import NamespaceSettings


def _brief(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {key: meta.get(key) for key in ("name", "namespace", "uid", "resourceVersion", "generation")} | {
        "kind": obj.get("kind")
    }


def execute_plan(kube: Any, plan: Plan, namespaces: NamespaceSettings, on_step: Any = None) -> dict[str, Any]:
    """Apply ``plan`` and return what happened: snapshot, dry-run answer, result, and the revert plan.

    ``on_step(kind, data)`` is called after each step so that the audit record follows along.
    """
    step = on_step or (lambda kind, data: None)
    if not namespaces.permits(plan.namespace):
        raise ActionRefused(f"namespace {plan.namespace} is denied by settings; nothing was changed")
    try:
        current = read_object(kube, plan.kind, plan.namespace, plan.name)
    except NotFound as exc:
        raise ActionRefused(f"target {plan.kind} {plan.namespace}/{plan.name} is gone: {exc}") from exc
    check_guard(plan, current)
    step("preconditions_passed", {"object": _brief(current), "guard": plan.guard})
    dry = apply_plan(kube, plan, dry_run=True)
    step("dry_run", {"result": _brief(dry)})
    step("snapshot", {"object": _brief(current), "spec": current.get("spec")})
    after = apply_plan(kube, plan, dry_run=False)
    revert = revert_plan(plan, current, after)
    outcome = {
        "plan": plan.to_dict(),
        "dry_run": _brief(dry),
        "result": _brief(after),
        "snapshot": {"metadata": _brief(current), "spec": current.get("spec")},
        "revert_plan": revert.to_dict() if revert else None,
    }
    step(
        "applied",
        {"result": _brief(after), "patch": plan.patch, "patch_type": plan.patch_type, "verb": plan.verb},
    )
    return outcome
