"""A container's usage now, as cAdvisor (``/metrics``) and the metrics API (the HPA) both see it."""

from __future__ import annotations

from typing import Any

from sandbox import load
from sandbox.store import ObjectStore
from sandbox.units import parse_quantity

ANNOTATION = "sandbox.aiops.dev/"
"""Prefix of the pod annotations that set usage: ``usage-cpu``, ``usage-memory.<container>``, ..."""


def _usage(pod: dict[str, Any], container: dict[str, Any], behaviour: Any) -> dict[str, float]:
    annotations = pod["metadata"].get("annotations") or {}
    case = behaviour.usage if behaviour is not None and behaviour.applies_to(container["name"]) else {}
    resources = container.get("resources") or {}
    usage: dict[str, float] = {}
    for resource, default in (("memory", 32 * 2**20), ("cpu", 0.005)):
        own = annotations.get(f"{ANNOTATION}usage-{resource}.{container['name']}")
        value = own or annotations.get(f"{ANNOTATION}usage-{resource}") or case.get(resource)
        if value is None:
            request = (resources.get("requests") or resources.get("limits") or {}).get(resource)
            usage[resource] = (
                parse_quantity(request) * (0.5 if resource == "memory" else 0.1) if request else default
            )
        else:
            usage[resource] = parse_quantity(value)
    ratio = annotations.get(f"{ANNOTATION}cpu-throttled-ratio") or case.get("cpu_throttled_ratio")
    cpu_limit = (resources.get("limits") or {}).get("cpu")
    if ratio is None:
        ratio = 0.25 if cpu_limit and usage["cpu"] >= 0.9 * parse_quantity(cpu_limit) else 0.0
    usage["throttled"] = float(ratio)
    return usage


def container_usage(store: ObjectStore, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, float]:
    """A container's usage now (``cpu`` cores, ``memory`` bytes), as cAdvisor and the metrics API see it.

    A pod of a fixed-load workload (``sandbox.load``) uses its share of the load; any other pod its
    ``usage-*`` annotations, its outcome case, or a fraction of its requests.
    """
    meta = pod["metadata"]
    usage = _usage(pod, container, store.behaviours.get(meta.get("uid", "")))
    share = load.model(store).share(meta.get("uid", ""), container["name"])
    if share is not None:
        usage["cpu"] = share
    return usage
