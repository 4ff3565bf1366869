"""Carry out an approved plan: guard, namespace check, rebuild, server-side dry run, snapshot, apply.

The approved plan is the stored one, which is redacted. After the guard holds, ``rebuild`` computes the
exact plan again from the live objects (``workers.spine.rebuild``) and only that is applied. Nothing
this returns or reports through ``on_step`` holds a secret: the snapshot, the patch and the revert plan
are redacted, and the revert names the ReplicaSet that still holds the full template from before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workers.errors import ActionRefused, NotFound
from workers.redaction import redact_value
from workers.settings import NamespaceSettings
from workers.spine.plans import Plan, apply_plan, check_guard, read_subject, revert_plan, template_source
from workers.spine.rebuild import stored

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube


def _brief(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {key: meta.get(key) for key in ("name", "namespace", "uid", "resourceVersion", "generation")} | {
        "kind": obj.get("kind")
    }


def execute_plan(
    kube: Kube,
    plan: Plan,
    namespaces: NamespaceSettings,
    on_step: Any = None,
    rebuild: Callable[[Plan], Plan] | None = None,
) -> dict[str, Any]:
    """Apply ``plan`` and return what happened: snapshot, dry-run answer, result, and the revert plan.

    ``plan`` is the approved (stored, redacted) plan; ``rebuild(plan)`` returns the exact plan computed
    again from the cluster, or raises ``ActionRefused`` (None: ``plan`` is applied as it is).
    ``on_step(kind, data)`` is called after each step so that the audit record follows along.
    """
    step = on_step or (lambda kind, data: None)
    if not namespaces.permits(plan.namespace):
        raise ActionRefused(f"namespace {plan.namespace} is denied by settings; nothing was changed")
    try:
        current = read_subject(kube, plan)  # the Deployment an HPA create scales
    except NotFound as exc:
        raise ActionRefused(f"target {plan.kind} {plan.namespace}/{plan.name} is gone: {exc}") from exc
    check_guard(plan, current)
    full = rebuild(plan) if rebuild is not None else plan
    step(
        "preconditions_passed",
        {"object": _brief(current), "guard": plan.guard, "rebuilt_from_cluster": rebuild is not None},
    )
    dry = apply_plan(kube, full, dry_run=True)
    step("dry_run", {"result": _brief(dry)})
    snapshot = {"metadata": _brief(current), "spec": redact_value(current.get("spec"))}
    source = template_source(kube, current) if plan.kind == "Deployment" else None
    if source is not None:
        snapshot["template_source"] = source
    step("snapshot", {"object": _brief(current), "spec": snapshot["spec"], "template_source": source})
    after = apply_plan(kube, full, dry_run=False)
    revert = revert_plan(plan, snapshot, after, source)
    applied = stored(full)
    outcome = {
        "plan": applied,
        "dry_run": _brief(dry),
        "result": _brief(after),
        "snapshot": snapshot,
        "revert_plan": stored(revert) if revert else None,
    }
    step(
        "applied",
        {
            "result": _brief(after),
            "patch": applied["patch"],
            "patch_type": plan.patch_type,
            "verb": plan.verb,
        },
    )
    return outcome
