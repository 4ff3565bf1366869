"""What a Deployment's rollout looks like through the API: its new and old ReplicaSets and its progress.

The new ReplicaSet holds the Deployment's current pod template (``workers.spine.plans.template_source``);
the old one is the highest earlier revision, the one ``rollout-undo`` restores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers.spine.plans import POD_TEMPLATE_HASH, bare_template

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

REVISION = "deployment.kubernetes.io/revision"


def revision_of(obj: dict[str, Any]) -> int:
    value = str(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    return int(value) if value.isdigit() else 0


def hash_of(rs: dict[str, Any] | None) -> str | None:
    if not rs:
        return None
    labels = (rs.get("metadata") or {}).get("labels") or {}
    return str(labels[POD_TEMPLATE_HASH]) if POD_TEMPLATE_HASH in labels else None


@dataclass
class RolloutView:
    deployment: dict[str, Any]
    new: dict[str, Any] | None
    old: dict[str, Any] | None

    @property
    def meta(self) -> dict[str, Any]:
        return self.deployment.get("metadata") or {}

    @property
    def paused(self) -> bool:
        return bool((self.deployment.get("spec") or {}).get("paused"))

    @property
    def generation(self) -> int | None:
        value = self.meta.get("generation")
        return int(value) if value is not None else None

    @property
    def replicas(self) -> int:
        return int((self.deployment.get("spec") or {}).get("replicas", 1))

    @property
    def updated_replicas(self) -> int:
        return int((self.deployment.get("status") or {}).get("updatedReplicas") or 0)

    @property
    def new_name(self) -> str | None:
        name = (self.new or {}).get("metadata", {}).get("name")
        return str(name) if name else None

    @property
    def old_name(self) -> str | None:
        name = (self.old or {}).get("metadata", {}).get("name")
        return str(name) if name else None

    @property
    def in_progress(self) -> bool:
        """Pods of an older template still run, or the new ReplicaSet is not all there yet."""
        status = self.deployment.get("status") or {}
        old_running = int(((self.old or {}).get("status") or {}).get("replicas") or 0)
        observed = status.get("observedGeneration")
        behind = observed is not None and self.generation is not None and int(observed) < self.generation
        return old_running > 0 or self.updated_replicas < self.replicas or behind


def owned_replicasets(kube: Kube, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    meta = deployment.get("metadata") or {}
    selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None
    return [
        rs
        for rs in kube.list_replicasets(str(meta.get("namespace")), label_selector)
        if meta.get("uid")
        in [ref.get("uid") for ref in (rs.get("metadata") or {}).get("ownerReferences") or []]
    ]


def view(kube: Kube, namespace: str, name: str) -> RolloutView:
    """The Deployment (``NotFound`` when it is gone) and its new and old ReplicaSets."""
    deployment = kube.get_deployment(namespace, name)
    template = (deployment.get("spec") or {}).get("template") or {}
    owned = owned_replicasets(kube, deployment)
    new = next((rs for rs in owned if bare_template(rs["spec"]["template"]) == template), None)
    limit = revision_of(new) if new is not None else None
    older = [rs for rs in owned if rs is not new and (limit is None or revision_of(rs) < limit)]
    old = max(older, key=revision_of, default=None)
    return RolloutView(deployment, new, old)
