"""The defaults the API server fills in on write, so stored objects (and templates) compare equal.

Pod specs (pods and pod templates alike), workloads, Services, Namespaces, and autoscaling/v2
HorizontalPodAutoscalers (``spec.behavior`` as sandbox.hpa's controller then reads it).
"""

from __future__ import annotations

from typing import Any

from sandbox.resources import ResourceType
from sandbox.store import clone

DEFAULT_CPU_UTILIZATION = 80
_SCALE_UP_RULES = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}
_SCALE_DOWN_RULES = {
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def default_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The defaults the API server fills in a pod spec (pods and pod templates alike)."""
    spec = clone(spec)
    for key, value in (
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("schedulerName", "default-scheduler"),
        ("serviceAccountName", "default"),
        ("terminationGracePeriodSeconds", 30),
        ("securityContext", {}),
    ):
        spec.setdefault(key, value)
    for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        image = c.get("image", "")
        latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for port in c.get("ports") or []:
            port.setdefault("protocol", "TCP")
    return spec


def apply_defaults(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """Fill the defaults the API server sets on write, so stored templates compare equal."""
    spec = obj.get("spec")
    if rtype.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job") and isinstance(
        spec, dict
    ):
        if rtype.kind not in {"DaemonSet", "Job"}:
            spec.setdefault("replicas", 1)
        template = spec.get("template")
        if isinstance(template, dict):
            template.setdefault("metadata", {})
            template["spec"] = default_pod_spec(template.get("spec") or {})
    if rtype.kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault(
            "strategy",
            {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        )
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    if rtype.kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    if rtype.kind == "Namespace":
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        obj.setdefault("status", {}).setdefault("phase", "Active")
    if rtype.kind == "HorizontalPodAutoscaler":
        hpa_defaults(obj)
    return obj


def _rules(given: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    rules = clone(defaults)
    for key in ("selectPolicy", "stabilizationWindowSeconds", "policies"):
        if isinstance(given, dict) and given.get(key) is not None:
            rules[key] = given[key]
    return rules


def hpa_defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """The autoscaling/v2 defaults the API server fills: minReplicas, a CPU metric, behavior rules."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        target = {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _rules(behavior.get("scaleUp"), _SCALE_UP_RULES)
        behavior["scaleDown"] = _rules(behavior.get("scaleDown"), _SCALE_DOWN_RULES)
    return obj
