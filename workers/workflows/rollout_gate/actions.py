"""``rollout-pause``, ``rollout-undo`` and ``rollout-resume``: the exact Deployment patches, planned before
approval and planned again from the cluster at execution (``workers.spine.rebuild``).

Each is guarded by the Deployment's generation, so a person approves the change for the object they saw.
The undo restores the previous ReplicaSet's pod template **and** clears ``spec.paused`` in one JSON patch:
``kubectl rollout undo`` refuses a paused Deployment, and two steps would leave a window where the bad
template rolls on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workers.errors import ActionRefused, NotFound
from workers.spine.plans import Plan, bare_template
from workers.workflows.rollout_gate.rollout import owned_replicasets, revision_of

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

PAUSE, UNDO, RESUME = "rollout-pause", "rollout-undo", "rollout-resume"


def _deployment(kube: Kube, target: dict[str, str], params: dict[str, Any]) -> dict[str, Any]:
    namespace = target["namespace"]
    name = str(params.get("deployment") or target["name"])
    try:
        return kube.get_deployment(namespace, name)
    except NotFound as exc:
        raise ActionRefused(f"deployment {namespace}/{name} no longer exists") from exc


def _paused_patch(deployment: dict[str, Any], paused: bool, summary: str) -> Plan:
    meta = deployment["metadata"]
    return Plan(
        verb="patch",
        kind="Deployment",
        namespace=str(meta["namespace"]),
        name=str(meta["name"]),
        patch_type="merge",
        patch={"spec": {"paused": paused}},
        guard={"generation": meta.get("generation")},
        summary=summary,
    )


class RolloutPause:
    """Pause the Deployment's rollout (``spec.paused: true``): no more pods move to the new template."""

    name = PAUSE

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        deployment = _deployment(kube, target, params)
        meta = deployment["metadata"]
        if (deployment.get("spec") or {}).get("paused"):
            raise ActionRefused(f"deployment {meta['namespace']}/{meta['name']} is already paused")
        return _paused_patch(
            deployment, True, f"pause the rollout of deployment {meta['namespace']}/{meta['name']}"
        )


class RolloutResume:
    """Let the paused rollout go on (``spec.paused: false``) with the new template."""

    name = RESUME

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        deployment = _deployment(kube, target, params)
        meta = deployment["metadata"]
        if not (deployment.get("spec") or {}).get("paused"):
            raise ActionRefused(f"deployment {meta['namespace']}/{meta['name']} is not paused")
        return _paused_patch(
            deployment,
            False,
            f"resume the rollout of deployment {meta['namespace']}/{meta['name']} with its new template",
        )


class RolloutUndo:
    """Put the previous ReplicaSet's pod template back and clear ``paused``, in one patch."""

    name = UNDO

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        deployment = _deployment(kube, target, params)
        meta = deployment["metadata"]
        namespace, name = str(meta["namespace"]), str(meta["name"])
        wanted = params.get("to_replicaset")
        owned = owned_replicasets(kube, deployment)
        template = (deployment.get("spec") or {}).get("template") or {}
        candidates = [
            rs
            for rs in owned
            if bare_template(rs["spec"]["template"]) != template
            and (wanted is None or rs["metadata"].get("name") == wanted)
        ]
        if not candidates:
            which = f"ReplicaSet {wanted}" if wanted else "an earlier revision"
            raise ActionRefused(f"deployment {namespace}/{name} has no {which} to go back to")
        rs = max(candidates, key=revision_of)
        rs_meta = rs["metadata"]
        return Plan(
            verb="patch",
            kind="Deployment",
            namespace=namespace,
            name=name,
            patch_type="json",
            patch=[
                {"op": "replace", "path": "/spec/template", "value": bare_template(rs["spec"]["template"])},
                {"op": "add", "path": "/spec/paused", "value": False},
            ],
            guard={"generation": meta.get("generation")},
            summary=(
                f"undo the rollout of deployment {namespace}/{name}: restore the pod template of "
                f"ReplicaSet {rs_meta.get('name')} (revision {revision_of(rs)}) and clear paused, "
                "in one patch"
            ),
            source={"kind": "ReplicaSet", "name": rs_meta.get("name"), "uid": rs_meta.get("uid")},
        )


ACTIONS = {action.name: action for action in (RolloutPause(), RolloutUndo(), RolloutResume())}
"""The allowlisted actions, one class each. Names match ``rules.allowlist.ACTIONS`` exactly."""
