"""What an action is: a plan (the exact change, decided before approval) and how to carry it out.

A plan names one object, one verb and the exact patch, plus a guard (the Deployment's generation or
the Pod's uid at diagnosis time). Execution refuses to act if the guard no longer holds, so a person
always approves exactly the change that runs, against the object they looked at.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from workers.errors import ActionRefused, NotFound

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

POD_TEMPLATE_HASH = "pod-template-hash"


@dataclass
class Plan:
    verb: str  # "patch" | "delete"
    kind: str  # "Deployment" | "Pod"
    namespace: str
    name: str
    patch_type: str | None = None  # "strategic" | "merge" | "json"
    patch: Any = None
    guard: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    source: dict[str, Any] | None = None
    """The object whose content the patch copies (a ReplicaSet's pod template): plans are stored redacted,
    so execution reads the full content from it again."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(**data)


class Action(Protocol):
    name: str

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        """The exact change for ``params``; reads the cluster, never writes."""
        ...


def read_object(kube: Kube, kind: str, namespace: str, name: str) -> dict[str, Any]:
    if kind == "Deployment":
        return kube.get_deployment(namespace, name)
    if kind == "Pod":
        return kube.get_pod(namespace, name)
    if kind == HPA:
        return kube.get_hpa(namespace, name)
    if kind in POD_CONTROLLERS:
        return kube.get_workload(kind, namespace, name)
    raise ActionRefused(f"actions cannot touch kind {kind}")


def check_guard(plan: Plan, current: dict[str, Any]) -> None:
    """Refuse when the object changed since diagnosis."""
    meta = current.get("metadata") or {}
    for key, expected in plan.guard.items():
        actual = meta.get(key)
        if expected is not None and str(actual) != str(expected):
            raise ActionRefused(
                f"{plan.kind} {plan.namespace}/{plan.name} changed since diagnosis: {key} is {actual}, "
                f"was {expected}; investigate again"
            )


def apply_plan(kube: Kube, plan: Plan, dry_run: bool) -> dict[str, Any]:
    if plan.verb == "delete" and plan.kind == "Pod":
        return kube.delete_pod(plan.namespace, plan.name, dry_run=dry_run)
    if plan.verb == "patch" and plan.kind == "Deployment":
        return kube.patch_deployment(
            plan.namespace, plan.name, plan.patch, plan.patch_type or "strategic", dry_run
        )
    if plan.kind == HPA:
        return apply_hpa(kube, plan, dry_run)
    if plan.verb == "patch" and plan.kind in POD_CONTROLLERS:
        return kube.patch_workload(
            plan.kind, plan.namespace, plan.name, plan.patch, plan.patch_type or "strategic", dry_run
        )
    raise ActionRefused(f"no way to {plan.verb} a {plan.kind}")


def deployment_of(evidence: dict[str, Any], params: dict[str, Any]) -> str:
    name = params.get("deployment") or (evidence.get("owner") or {}).get("deployment")
    if not name:
        raise ActionRefused(
            "the target is not managed by a Deployment; no deployment-level action is possible"
        )
    return str(name)


def container_index(deployment: dict[str, Any], container: str) -> int:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    for index, item in enumerate(containers):
        if item.get("name") == container:
            return index
    raise ActionRefused(f"deployment has no container {container!r}")


def bare_template(template: dict[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template as its Deployment holds it: without the pod-template-hash label."""
    copied = copy.deepcopy(template)
    labels = (copied.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return copied


def template_source(kube: Kube, deployment: dict[str, Any]) -> dict[str, Any] | None:
    """The ReplicaSet holding ``deployment``'s current pod template as a plan ``source`` (None: none does)."""
    meta = deployment.get("metadata") or {}
    selector = (deployment.get("spec") or {}).get("selector", {}).get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None
    template = (deployment.get("spec") or {}).get("template") or {}
    for rs in kube.list_replicasets(meta["namespace"], label_selector):
        rs_meta = rs.get("metadata") or {}
        owners = [ref.get("uid") for ref in rs_meta.get("ownerReferences") or []]
        if meta.get("uid") in owners and bare_template(rs["spec"]["template"]) == template:
            return {"kind": "ReplicaSet", "name": rs_meta.get("name"), "uid": rs_meta.get("uid")}
    return None


def revert_plan(
    plan: Plan, snapshot: dict[str, Any], after: dict[str, Any], source: dict[str, Any] | None = None
) -> Plan | None:
    """The plan that puts back what ``plan`` changed, or None when nothing can be put back.

    ``source`` is the ReplicaSet that holds the template from before the change (``template_source``):
    the revert is stored redacted and takes the full template from it when it runs.
    """
    if plan.kind == HPA:
        return revert_hpa(plan, snapshot, after)
    if plan.kind in POD_CONTROLLERS:
        return revert_json_patch(plan, snapshot, after)
    if plan.kind != "Deployment":
        return None
    template = copy.deepcopy(snapshot["spec"]["template"])
    return Plan(
        verb="patch",
        kind="Deployment",
        namespace=plan.namespace,
        name=plan.name,
        patch_type="json",
        patch=[{"op": "replace", "path": "/spec/template", "value": template}],
        guard={"generation": (after.get("metadata") or {}).get("generation")},
        summary=f"restore the pod template of deployment {plan.namespace}/{plan.name} from before the change",
        source=source,
    )


# --- StatefulSets and DaemonSets (US3: patch-resources) ----------------------------------------------
# Their pod templates are not kept in ReplicaSets, and the snapshot is stored redacted, so a revert
# cannot put a whole template back: it puts back exactly the paths the JSON patch replaced, from the
# snapshot (resources hold no secrets; should a path hold a redacted value, the rebuild refuses).

POD_CONTROLLERS = ("StatefulSet", "DaemonSet")


def _at(doc: Any, path: str) -> tuple[bool, Any]:
    for raw in path.strip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return False, None
    return True, copy.deepcopy(doc)


def revert_json_patch(plan: Plan, snapshot: dict[str, Any], after: dict[str, Any]) -> Plan | None:
    """The JSON patch that puts back what ``plan`` (a JSON patch) replaced or added, else None."""
    if plan.patch_type != "json" or not isinstance(plan.patch, list):
        return None
    ops: list[dict[str, Any]] = []
    for op in plan.patch:
        if op.get("op") == "test":
            ops.append(dict(op))
        elif op.get("op") in ("replace", "add"):
            found, value = _at(snapshot, str(op["path"]))
            ops.append(
                {"op": "replace", "path": op["path"], "value": value}
                if found
                else {"op": "remove", "path": op["path"]}
            )
        else:
            return None
    return Plan(
        verb="patch",
        kind=plan.kind,
        namespace=plan.namespace,
        name=plan.name,
        patch_type="json",
        patch=ops,
        guard={"generation": (after.get("metadata") or {}).get("generation")},
        summary=f"restore what the change replaced in {plan.kind.lower()} {plan.namespace}/{plan.name}",
    )


def require(found: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if not found:
        raise NotFound(what)
    return found


# --- HorizontalPodAutoscalers (US2: create-hpa, patch-hpa) -------------------------------------------
# A create plan holds the whole object in ``patch`` and names the scaled Deployment in ``source``: its
# guard is checked against that Deployment, since the HPA does not exist yet. A revert deletes the HPA
# that was created (guarded by its uid) or merges the previous spec back.

HPA = "HorizontalPodAutoscaler"


def read_subject(kube: Kube, plan: Plan) -> dict[str, Any]:
    """The object ``plan``'s guard is checked against: the target, or for a create the Deployment it
    scales (refusing when the object to create already exists)."""
    if plan.verb != "create":
        return read_object(kube, plan.kind, plan.namespace, plan.name)
    try:
        read_object(kube, plan.kind, plan.namespace, plan.name)
    except NotFound:
        source = plan.source or {}
        return read_object(kube, str(source.get("kind")), plan.namespace, str(source.get("name")))
    raise ActionRefused(f"{plan.kind} {plan.namespace}/{plan.name} already exists; investigate again")


def apply_hpa(kube: Kube, plan: Plan, dry_run: bool) -> dict[str, Any]:
    if plan.verb == "create":
        return kube.create_hpa(plan.namespace, plan.patch, dry_run)
    if plan.verb == "patch":
        return kube.patch_hpa(plan.namespace, plan.name, plan.patch, plan.patch_type or "merge", dry_run)
    if plan.verb == "delete":
        return kube.delete_hpa(plan.namespace, plan.name, dry_run)
    raise ActionRefused(f"no way to {plan.verb} a {plan.kind}")


def revert_hpa(plan: Plan, snapshot: dict[str, Any], after: dict[str, Any]) -> Plan | None:
    meta = after.get("metadata") or {}
    if plan.verb == "create":
        return Plan(
            verb="delete",
            kind=HPA,
            namespace=plan.namespace,
            name=plan.name,
            guard={"uid": meta.get("uid")},
            summary=f"delete HPA {plan.namespace}/{plan.name}, which the approved change created",
        )
    if plan.verb != "patch":
        return None
    before = snapshot.get("spec") or {}
    keys = ("minReplicas", "maxReplicas", "metrics", "behavior")
    return Plan(
        verb="patch",
        kind=HPA,
        namespace=plan.namespace,
        name=plan.name,
        patch_type="merge",
        patch={"spec": {key: before.get(key) for key in keys if key in before}},
        guard={"uid": meta.get("uid"), "generation": meta.get("generation")},
        summary=f"restore the spec of HPA {plan.namespace}/{plan.name} from before the change",
    )
