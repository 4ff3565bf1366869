"""``patch-resources``: the requests and limits of named containers of a Deployment, StatefulSet or
DaemonSet, as one exact JSON patch, planned before approval and planned again from the cluster at
execution (``workers.spine.rebuild``).

Each container gets a ``test`` of its name at its index (the patch cannot land on another container)
and the whole new ``resources`` object (other resources, such as ephemeral-storage, are carried over).
The guard is the workload's uid and generation. The same action retargets an HPA when the new requests
would move its scale point (``params['hpa']``): a merge patch of its metrics with the new
``averageUtilization``. Reverts restore the previous values (``workers.spine.plans.revert_plan``).
"""

from __future__ import annotations

import copy
from typing import Any

from workers.errors import ActionRefused, NotFound
from workers.spine.plans import HPA, Plan
from workers.workflows.rightsizing.model import WORKLOAD_KINDS

NAME = "patch-resources"
_KEYS = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


def new_resources(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """``current`` with the four values of ``wanted`` (``{"requests": {...}, "limits": {...}}``) set;
    a None value removes the key, and an empty ``requests`` or ``limits`` disappears."""
    out = copy.deepcopy(current or {})
    for section, key in _KEYS:
        if key not in (wanted.get(section) or {}):
            continue
        value = wanted[section][key]
        part = out.setdefault(section, {})
        if value is None:
            part.pop(key, None)
        else:
            part[key] = str(value)
        if not part:
            out.pop(section)
    return out


def _describe(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    for section, key in _KEYS:
        old = (before.get(section) or {}).get(key)
        new = (after.get(section) or {}).get(key)
        if old != new:
            parts.append(f"{key} {section[:-1]} {old or 'none'} → {new or 'none'}")
    return ", ".join(parts) or "no change"


class PatchResources:
    """Set requests and limits of named containers (or retarget the HPA that scales the workload)."""

    name = NAME

    def plan(
        self, kube: Any, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        namespace = target["namespace"]
        if params.get("hpa"):
            return self._hpa_plan(kube, namespace, params["hpa"])
        kind, name = (
            str(params.get("kind") or target.get("kind")),
            str(params.get("name") or target.get("name")),
        )
        if kind not in WORKLOAD_KINDS:
            raise ActionRefused(
                f"patch-resources changes a Deployment, StatefulSet or DaemonSet, not a {kind}"
            )
        try:
            workload = kube.get_workload(kind, namespace, name)
        except NotFound as exc:
            raise ActionRefused(f"{kind} {namespace}/{name} no longer exists") from exc
        containers = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
            "containers"
        ) or []
        wanted: dict[str, Any] = params.get("containers") or {}
        if not wanted:
            raise ActionRefused("the plan names no container to resize")
        patch: list[dict[str, Any]] = []
        said = []
        for container_name in sorted(wanted):
            index = next((i for i, c in enumerate(containers) if c.get("name") == container_name), None)
            if index is None:
                raise ActionRefused(f"{kind} {namespace}/{name} has no container {container_name!r}")
            before = containers[index].get("resources") or {}
            after = new_resources(before, wanted[container_name])
            path = f"/spec/template/spec/containers/{index}"
            patch.append({"op": "test", "path": f"{path}/name", "value": container_name})
            op = "replace" if "resources" in containers[index] else "add"
            patch.append({"op": op, "path": f"{path}/resources", "value": after})
            said.append(f"{container_name}: {_describe(before, after)}")
        meta = workload.get("metadata") or {}
        return Plan(
            verb="patch",
            kind=kind,
            namespace=namespace,
            name=name,
            patch_type="json",
            patch=patch,
            guard={"uid": meta.get("uid"), "generation": meta.get("generation")},
            summary=f"set resources of {kind.lower()} {namespace}/{name} (rolling update): "
            + "; ".join(said),
        )

    def _hpa_plan(self, kube: Any, namespace: str, wanted: dict[str, Any]) -> Plan:
        name = str(wanted.get("name"))
        try:
            hpa = kube.get_hpa(namespace, name)
        except NotFound as exc:
            raise ActionRefused(f"HPA {namespace}/{name} no longer exists") from exc
        metrics = copy.deepcopy((hpa.get("spec") or {}).get("metrics") or [])
        said = []
        for change in wanted.get("targets") or []:
            index = int(change["index"])
            if index >= len(metrics):
                raise ActionRefused(f"HPA {namespace}/{name} has no metric #{index}")
            metric = metrics[index]
            body = (
                metric.get("resource")
                if metric.get("type") == "Resource"
                else metric.get("containerResource")
            )
            target = (body or {}).get("target") or {}
            if target.get("averageUtilization") != change["from"]:
                raise ActionRefused(
                    f"HPA {namespace}/{name} metric #{index} targets {target.get('averageUtilization')} %, "
                    f"not {change['from']} %; analyse again"
                )
            target["averageUtilization"] = int(change["to"])
            said.append(f"{(body or {}).get('name')} {change['from']} % → {change['to']} %")
        meta = hpa.get("metadata") or {}
        return Plan(
            verb="patch",
            kind=HPA,
            namespace=namespace,
            name=name,
            patch_type="merge",
            patch={"spec": {"metrics": metrics}},
            guard={"uid": meta.get("uid"), "generation": meta.get("generation")},
            summary=f"retarget HPA {namespace}/{name} to keep its scale point: " + ", ".join(said),
        )


ACTIONS = {NAME: PatchResources()}
