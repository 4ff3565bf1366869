"""The workloads section: unavailable Deployments, replica mismatches, HPAs at their max, blocking PDBs."""

from __future__ import annotations

from typing import Any

from workers.domain import Finding, Section, Severity
from workers.workflows.health_report.inventory import Inventory
from workers.workflows.health_report.scoring import section_score


def _name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def workloads_section(inventory: Inventory) -> Section:
    kinds = ("deployments", "statefulsets", "horizontalpodautoscalers", "poddisruptionbudgets")
    if all(kind in inventory.missing for kind in kinds):
        return Section(id="workloads", title="Workloads", unavailable=inventory.why_missing(*kinds))
    findings: list[Finding] = []
    for kind, objects in (
        ("Deployment", inventory.deployments),
        ("StatefulSet", inventory.statefulsets),
    ):
        for obj in objects:
            namespace, name = _name(obj)
            desired = int((obj.get("spec") or {}).get("replicas", 1) or 0)
            status = obj.get("status") or {}
            ready = int(status.get("availableReplicas" if kind == "Deployment" else "readyReplicas") or 0)
            where = {"namespace": namespace, "kind": kind, "name": name}
            evidence = {
                "desired": desired,
                "available": ready,
                "updated": status.get("updatedReplicas"),
            }
            if desired > 0 and ready == 0:
                findings.append(
                    Finding(
                        check="workloads.unavailable",
                        title=f"{kind} unavailable",
                        severity=Severity.critical,
                        score=9.5,
                        message=f"{kind} {namespace}/{name}: 0 of {desired} replicas available",
                        remediation=f"kubectl rollout status {kind.lower()}/{name} -n {namespace}; read "
                        f"its pods' "
                        "events and logs; roll back if a rollout caused it",
                        evidence=evidence,
                        **where,
                    )
                )
            elif ready < desired:
                findings.append(
                    Finding(
                        check="workloads.replica_mismatch",
                        title=f"{kind} below its replicas",
                        severity=Severity.medium,
                        score=4.0 + 4.0 * (1 - ready / desired),
                        message=f"{kind} {namespace}/{name}: {ready} of {desired} replicas available",
                        remediation="look at the pods that are not Ready (pending, crash-looping, "
                        "failing probes)",
                        evidence=evidence,
                        **where,
                    )
                )
    for hpa in inventory.hpas:
        namespace, name = _name(hpa)
        maximum = int((hpa.get("spec") or {}).get("maxReplicas") or 0)
        current = int((hpa.get("status") or {}).get("currentReplicas") or 0)
        if maximum and current >= maximum:
            target = ((hpa.get("spec") or {}).get("scaleTargetRef") or {}).get("name")
            findings.append(
                Finding(
                    check="workloads.hpa_at_max",
                    title="HPA at its maximum",
                    severity=Severity.medium,
                    score=5.0,
                    namespace=namespace,
                    kind="HorizontalPodAutoscaler",
                    name=name,
                    message=f"HPA {namespace}/{name} runs {current} of at most {maximum} replicas of "
                    f"{target}: "
                    "it cannot scale further",
                    remediation="raise maxReplicas if the cluster has room (see Capacity), or make the "
                    "workload cheaper",
                    evidence={"current": current, "max": maximum, "target": target},
                )
            )
    for pdb in inventory.pdbs:
        namespace, name = _name(pdb)
        status = pdb.get("status") or {}
        if int(status.get("expectedPods") or 0) > 0 and int(status.get("disruptionsAllowed") or 0) == 0:
            findings.append(
                Finding(
                    check="workloads.pdb_blocking",
                    title="PodDisruptionBudget blocks disruption",
                    severity=Severity.medium,
                    score=4.5,
                    namespace=namespace,
                    kind="PodDisruptionBudget",
                    name=name,
                    message=f"PDB {namespace}/{name} allows 0 disruptions "
                    f"({status.get('currentHealthy', 0)} healthy, "
                    f"{status.get('desiredHealthy', 0)} required): node drains will hang",
                    remediation="add replicas or relax minAvailable/maxUnavailable so that one pod may "
                    "be evicted",
                    evidence={
                        key: status.get(key)
                        for key in (
                            "expectedPods",
                            "currentHealthy",
                            "desiredHealthy",
                            "disruptionsAllowed",
                        )
                    },
                )
            )
    checked = (
        len(inventory.deployments) + len(inventory.statefulsets) + len(inventory.hpas) + len(inventory.pdbs)
    )
    summary = {
        "deployments": len(inventory.deployments),
        "statefulsets": len(inventory.statefulsets),
        "hpas": len(inventory.hpas),
        "pdbs": len(inventory.pdbs),
        "unavailable": sum(1 for f in findings if f.check == "workloads.unavailable"),
        "replica_mismatches": sum(1 for f in findings if f.check == "workloads.replica_mismatch"),
        "hpas_at_max": sum(1 for f in findings if f.check == "workloads.hpa_at_max"),
        "pdbs_blocking": sum(1 for f in findings if f.check == "workloads.pdb_blocking"),
    }
    return Section(
        id="workloads",
        title="Workloads",
        summary=summary,
        findings=findings,
        score=section_score(checked, findings),
        unavailable=inventory.why_missing(*kinds),
    )
