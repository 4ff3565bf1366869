"""Plans are stored redacted; execution builds the exact plan again from the live objects.

A stored plan (in the proposal, the record and the logs) never holds a secret: env values and
anything secret-like are redacted. At execution, after the guard proved the object is the one that
was approved, the plan is computed again from the cluster (the same action on the same params, or,
for a revert, the ReplicaSet that still holds the template from before the change). Its redacted form
must equal the approved plan exactly; otherwise nothing is applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.errors import ActionRefused, NotFound
from workers.redaction import contains_redaction, redact_value
from workers.spine.plans import Action, Plan, bare_template

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

REVERT = "revert"


def stored(plan: Plan) -> dict[str, Any]:
    """The form of ``plan`` that is stored, logged and shown: redacted."""
    return dict(redact_value(plan.to_dict()))


def rebuild(
    kube: Kube,
    action: str,
    implementation: Action | None,
    params: dict[str, Any],
    target: dict[str, str],
    approved: Plan,
) -> Plan:
    """The full plan for ``approved``, computed again from the cluster; refuses when it differs.

    ``implementation`` is the workflow's action named ``action`` (None for a revert or an unknown name).
    """
    if implementation is not None:
        evidence = {"owner": {"deployment": approved.name}} if approved.kind == "Deployment" else {}
        full = implementation.plan(kube, target, dict(params), evidence)
    elif action == REVERT:
        full = _revert(kube, approved)
    elif not contains_redaction(approved.to_dict()):
        full = approved  # nothing was hidden from it: the stored plan is the exact plan
    else:
        raise ActionRefused(f"action {action} cannot be rebuilt from the cluster; investigate again")
    if stored(full) != approved.to_dict():
        raise ActionRefused(
            f"the change computed from the cluster now differs from the approved plan "
            f"({_difference(stored(full), approved.to_dict())}); nothing was changed, investigate again"
        )
    return full


def _revert(kube: Kube, approved: Plan) -> Plan:
    source = approved.source
    if not source:
        if contains_redaction(approved.to_dict()):
            raise ActionRefused(
                "the pod template from before the change is stored redacted and no ReplicaSet held it; "
                "restore it from your manifests"
            )
        return approved
    try:
        rs = kube.get_replicaset(approved.namespace, str(source.get("name")))
    except NotFound as exc:
        raise ActionRefused(
            f"ReplicaSet {approved.namespace}/{source.get('name')}, which held the pod template from before "
            "the change, is gone; restore it from your manifests"
        ) from exc
    if (rs.get("metadata") or {}).get("uid") != source.get("uid"):
        raise ActionRefused(
            f"ReplicaSet {approved.namespace}/{source.get('name')} was replaced since the change"
        )
    template = bare_template(rs["spec"]["template"])
    return Plan(
        verb=approved.verb,
        kind=approved.kind,
        namespace=approved.namespace,
        name=approved.name,
        patch_type=approved.patch_type,
        patch=[{"op": "replace", "path": "/spec/template", "value": template}],
        guard=dict(approved.guard),
        summary=approved.summary,
        source=dict(source),
    )


def _difference(rebuilt: Any, approved: Any, path: str = "plan") -> str:
    """Where two plans first differ, e.g. ``plan.patch[0].value.spec.containers[0].image``."""
    if isinstance(rebuilt, dict) and isinstance(approved, dict):
        for key in sorted(set(rebuilt) | set(approved), key=str):
            if rebuilt.get(key) != approved.get(key):
                return _difference(rebuilt.get(key), approved.get(key), f"{path}.{key}")
    if isinstance(rebuilt, list) and isinstance(approved, list) and len(rebuilt) == len(approved):
        for index, (left, right) in enumerate(zip(rebuilt, approved, strict=True)):
            if left != right:
                return _difference(left, right, f"{path}[{index}]")
    return f"{path} differs"
