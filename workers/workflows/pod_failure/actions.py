"""The allowlisted actions, one class each. Names match ``rules.allowlist.ACTIONS`` exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workers.errors import ActionRefused
from workers.redaction import contains_redaction, redact_value
from workers.spine.plans import Action, Plan, bare_template, container_index, deployment_of

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube

REVISION = "deployment.kubernetes.io/revision"


class RestartPod:
    """Delete one pod so that its controller starts a fresh one."""

    name = "restart-pod"

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        pod = kube.get_pod(target["namespace"], target["name"])
        if not (pod.get("metadata") or {}).get("ownerReferences"):
            raise ActionRefused("refusing to delete a pod that no controller will recreate")
        return Plan(
            verb="delete",
            kind="Pod",
            namespace=target["namespace"],
            name=target["name"],
            guard={"uid": pod["metadata"].get("uid")},
            summary=f"delete pod {target['namespace']}/{target['name']}; its controller recreates it",
        )


class RollbackDeployment:
    """Put the pod template of an earlier revision back, as `kubectl rollout undo` does."""

    name = "rollback-deployment"

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        namespace = target["namespace"]
        name = deployment_of(evidence, params)
        deployment = kube.get_deployment(namespace, name)
        current = int((deployment["metadata"].get("annotations") or {}).get(REVISION, 0) or 0)
        wanted = params.get("to_revision")
        candidates = []
        selector = deployment["spec"]["selector"].get("matchLabels") or {}
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None
        for rs in kube.list_replicasets(namespace, label_selector):
            owners = [ref.get("name") for ref in rs["metadata"].get("ownerReferences") or []]
            revision = int((rs["metadata"].get("annotations") or {}).get(REVISION, 0) or 0)
            if name in owners and revision != current:
                candidates.append((revision, rs))
        if wanted is not None:
            candidates = [(rev, rs) for rev, rs in candidates if rev == int(wanted)]
        if not candidates:
            raise ActionRefused(f"deployment {namespace}/{name} has no earlier revision to roll back to")
        revision, rs = max(candidates, key=lambda item: item[0])
        return Plan(
            verb="patch",
            kind="Deployment",
            namespace=namespace,
            name=name,
            patch_type="json",
            patch=[
                {"op": "replace", "path": "/spec/template", "value": bare_template(rs["spec"]["template"])}
            ],
            guard={"generation": deployment["metadata"].get("generation")},
            summary=f"roll deployment {namespace}/{name} back from revision {current} to revision {revision}",
            source={
                "kind": "ReplicaSet",
                "name": rs["metadata"].get("name"),
                "uid": rs["metadata"].get("uid"),
            },
        )


def _container_patch(
    kube: Kube,
    target: dict[str, str],
    params: dict[str, Any],
    evidence: dict[str, Any],
    summary: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
) -> Plan:
    """A strategic-merge patch of one container of the target's Deployment.

    ``change(container_spec)`` returns the fields to merge into the container named ``params["container"]``.
    """
    namespace = target["namespace"]
    name = deployment_of(evidence, params)
    deployment = kube.get_deployment(namespace, name)
    container = str(params["container"])
    spec = deployment["spec"]["template"]["spec"]["containers"][container_index(deployment, container)]
    patch = {"spec": {"template": {"spec": {"containers": [{"name": container, **change(spec)}]}}}}
    return Plan(
        verb="patch",
        kind="Deployment",
        namespace=namespace,
        name=name,
        patch_type="strategic",
        patch=patch,
        guard={"generation": deployment["metadata"].get("generation")},
        summary=summary.format(deployment=name, container=container),
    )


class RaiseMemoryLimit:
    """Raise one container's memory limit (and its request when it equals the limit)."""

    name = "raise-memory-limit"

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        resources: dict[str, Any] = {"limits": {"memory": str(params["memory_limit"])}}
        if params.get("memory_request"):
            resources["requests"] = {"memory": str(params["memory_request"])}
        summary = "set memory limit of {deployment}/{container} to " + str(params["memory_limit"])
        return _container_patch(
            kube, target, params, evidence, summary, lambda spec: {"resources": resources}
        )


def _restored_probe(wanted: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """A ``startup_probe`` param as the planner made it. Proposals are stored redacted, so a handler that
    held a secret (a header, a command) is read again from the container's probe it was copied from."""
    if not contains_redaction(wanted):
        return wanted
    restored: dict[str, Any] = {}
    for key, value in wanted.items():
        if not contains_redaction(value):
            restored[key] = value
            continue
        for probe in (spec.get("startupProbe"), spec.get("livenessProbe")):
            if isinstance(probe, dict) and key in probe and redact_value(probe[key]) == value:
                restored[key] = probe[key]
                break
        else:
            raise ActionRefused(
                f"the approved startupProbe's {key} is stored redacted and no probe of the container holds "
                "it any more; investigate again"
            )
    return restored


class AdjustProbe:
    """Give a slow-starting container time: raise a probe's initialDelaySeconds or add a startupProbe."""

    name = "adjust-probe"

    def plan(
        self, kube: Kube, target: dict[str, str], params: dict[str, Any], evidence: dict[str, Any]
    ) -> Plan:
        probe_name = str(params.get("probe", "livenessProbe"))

        def change(spec: dict[str, Any]) -> dict[str, Any]:
            fields: dict[str, Any] = {}
            if params.get("startup_probe"):
                fields["startupProbe"] = _restored_probe(params["startup_probe"], spec)
            if params.get("initial_delay_seconds") is not None:
                if not spec.get(probe_name):
                    raise ActionRefused(f"container {params['container']} has no {probe_name} to adjust")
                fields[probe_name] = {"initialDelaySeconds": int(params["initial_delay_seconds"])}
            if not fields:
                raise ActionRefused("adjust-probe needs initial_delay_seconds or startup_probe")
            return fields

        return _container_patch(
            kube, target, params, evidence, "adjust probes of {deployment}/{container}", change
        )


ACTIONS: dict[str, Action] = {
    action.name: action for action in (RestartPod(), RollbackDeployment(), RaiseMemoryLimit(), AdjustProbe())
}
