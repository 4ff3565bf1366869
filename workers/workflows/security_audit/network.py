"""NetworkPolicy checks: unprotected namespaces, no default deny, unselected workloads, allow-all rules.

Only ingress isolation is judged: a pod is isolated for ingress when a policy of its namespace with
``Ingress`` in its ``policyTypes`` (or, without policyTypes, any policy) selects it. Namespaces that
run no workload are skipped.
"""

from __future__ import annotations

from typing import Any

from workers.domain import Finding
from workers.settings import SecuritySettings
from workers.workflows.security_audit.inventory import (
    Inventory,
    Obj,
    finding,
    name_of,
    namespace_of,
    selector_matches,
    workload_finding,
)

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def _ingress(policy: Obj) -> bool:
    spec = policy.get("spec") or {}
    types = spec.get("policyTypes")
    return "Ingress" in types if types else True


def _default_deny(policy: Obj) -> bool:
    spec = policy.get("spec") or {}
    return _ingress(policy) and spec.get("podSelector") == {} and not spec.get("ingress")


def _open_rules(policy: Obj) -> list[dict[str, Any]]:
    opened = []
    for rule in (policy.get("spec") or {}).get("ingress") or []:
        sources = rule.get("from")
        if not sources:
            opened.append({"rule": rule, "why": "no `from`: every source"})
            continue
        for source in sources:
            cidr = (source.get("ipBlock") or {}).get("cidr")
            if cidr in OPEN_CIDRS and not (source.get("ipBlock") or {}).get("except"):
                opened.append({"rule": rule, "why": f"ipBlock {cidr}"})
    return opened


def check(inventory: Inventory, settings: SecuritySettings) -> tuple[list[Finding], dict[str, Any], int]:
    found: list[Finding] = []
    policies: dict[str, list[Obj]] = {}
    for policy in inventory.kind("NetworkPolicy"):
        policies.setdefault(namespace_of(policy) or "default", []).append(policy)
    workloads = inventory.workloads()
    used = sorted({w.namespace for w in workloads} - SYSTEM_NAMESPACES)
    for namespace in used:
        mine = policies.get(namespace, [])
        if not mine:
            found.append(
                finding(
                    "netpol.namespace_unprotected",
                    settings,
                    namespace=namespace,
                    kind="Namespace",
                    name=namespace,
                    message=f"namespace {namespace} has no NetworkPolicy",
                )
            )
        elif not any(_default_deny(p) for p in mine):
            found.append(
                finding(
                    "netpol.no_default_deny",
                    settings,
                    namespace=namespace,
                    kind="Namespace",
                    name=namespace,
                    message=f"namespace {namespace} has no default-deny ingress policy",
                    evidence={"policies": sorted(name_of(p) for p in mine)},
                )
            )
    for policy in inventory.kind("NetworkPolicy"):
        opened = _open_rules(policy)
        if opened and _ingress(policy):
            where = namespace_of(policy)
            found.append(
                finding(
                    "netpol.allow_all_ingress",
                    settings,
                    namespace=where,
                    kind="NetworkPolicy",
                    name=name_of(policy),
                    message=f"NetworkPolicy {where}/{name_of(policy)} allows ingress from anywhere "
                    f"({opened[0]['why']})",
                    evidence={"open_rules": opened[:5]},
                )
            )
    unselected = 0
    for workload in workloads:
        mine = policies.get(workload.namespace, [])
        if not mine or workload.namespace in SYSTEM_NAMESPACES:
            continue  # the namespace finding covers it
        ingress = [p for p in mine if _ingress(p)]
        if not any(
            selector_matches((p.get("spec") or {}).get("podSelector"), workload.pod_labels) for p in ingress
        ):
            unselected += 1
            found.append(
                workload_finding(
                    "netpol.pod_unselected",
                    settings,
                    workload,
                    "its pods are selected by no ingress NetworkPolicy",
                    pod_labels=workload.pod_labels,
                )
            )
    summary = {
        "namespaces": len(used),
        "namespaces_with_policies": sum(1 for n in used if policies.get(n)),
        "policies": len(inventory.kind("NetworkPolicy")),
        "workloads_unselected": unselected,
    }
    return found, summary, len(used) + len(inventory.kind("NetworkPolicy")) + len(workloads)
