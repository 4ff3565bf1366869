"""The pods section: pods by phase, crash-looping, pending too long (with the reason), restarts, OOM kills."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from workers.domain import Finding, Section, Severity
from workers.workflows.health_report.inventory import Inventory
from workers.workflows.health_report.scoring import section_score

TOP_RESTARTS = 10
RESTARTS_WARN = 20
"""Restarts in the week above which a pod is a finding."""


def pods_section(
    inventory: Inventory,
    now: datetime,
    pending_after_s: int,
    week_restarts: dict[str, float] | None,
) -> Section:
    """``week_restarts``: ``namespace/pod`` -> restarts over the week from Prometheus, or None when it
    could not answer (then the containers' restart counts, which count since each pod started)."""
    missing = inventory.why_missing("pods")
    if missing:
        return Section(id="pods", title="Pods", unavailable=missing)
    findings: list[Finding] = []
    phases = Counter(pod.phase for pod in inventory.pods)
    crashing = pending = oom = 0
    for pod in inventory.pods:
        where = {"namespace": pod.namespace, "kind": "Pod", "name": pod.name}
        looping = [name for name, reason in pod.waiting.items() if reason == "CrashLoopBackOff"]
        if looping:
            crashing += 1
            findings.append(
                Finding(
                    check="pods.crashlooping",
                    title="Pod crash-looping",
                    severity=Severity.high,
                    score=7.0,
                    message=f"{pod.namespace}/{pod.name}: container(s) {', '.join(looping)} in "
                    f"CrashLoopBackOff "
                    f"({pod.restarts} restarts)",
                    remediation=f"kubectl logs -n {pod.namespace} {pod.name} --previous; fix the cause "
                    f"or roll back "
                    f"{pod.owner or 'the pod'}",
                    evidence={"restarts": pod.restarts, "owner": pod.owner, "waiting": pod.waiting},
                    **where,
                )
            )
        if pod.phase == "Pending" and pod.created and (now - pod.created).total_seconds() > pending_after_s:
            pending += 1
            reason = (
                pod.unscheduled or ", ".join(f"{c}: {r}" for c, r in pod.waiting.items()) or "no reason given"
            )
            age_min = int((now - pod.created).total_seconds() // 60)
            findings.append(
                Finding(
                    check="pods.pending",
                    title="Pod pending too long",
                    severity=Severity.high,
                    score=6.0,
                    message=f"{pod.namespace}/{pod.name} pending for {age_min} min: {reason}",
                    remediation="free or add capacity, or fix the pod's requests, node selector, "
                    "tolerations or image",
                    evidence={"pending_minutes": age_min, "reason": reason},
                    **where,
                )
            )
        if pod.oom_killed:
            oom += 1
            findings.append(
                Finding(
                    check="pods.oomkilled",
                    title="Container OOM-killed",
                    severity=Severity.high,
                    score=6.5,
                    message=f"{pod.namespace}/{pod.name}: {', '.join(pod.oom_killed)} killed for memory "
                    f"(OOMKilled)",
                    remediation="raise the memory limit above the working set (aiops rightsize) or fix "
                    "the leak",
                    evidence={
                        "containers": pod.oom_killed,
                        "limits_memory_bytes": pod.limits.memory_b,
                    },
                    **where,
                )
            )
    if week_restarts is not None:
        restarts, source = (
            week_restarts,
            "prometheus: increase(kube_pod_container_status_restarts_total[7d])",
        )
    else:
        restarts = {f"{p.namespace}/{p.name}": float(p.restarts) for p in inventory.pods if p.restarts}
        source = "container restart counts (since each pod started: Prometheus unavailable)"
    top = sorted(restarts.items(), key=lambda item: -item[1])[:TOP_RESTARTS]
    for key, count in top:
        if count > RESTARTS_WARN and not any(
            f.check == "pods.crashlooping" and f"{f.namespace}/{f.name}" == key for f in findings
        ):
            namespace, _, name = key.partition("/")
            findings.append(
                Finding(
                    check="pods.restarts",
                    title="Pod restarting often",
                    severity=Severity.medium,
                    score=4.0,
                    namespace=namespace,
                    kind="Pod",
                    name=name,
                    message=f"{key} restarted {int(count)} times this week",
                    remediation="read the previous container's log and the pod's events for the cause",
                    evidence={"restarts_week": count},
                )
            )
    summary: dict[str, Any] = {
        "total": len(inventory.pods),
        "by_phase": dict(sorted(phases.items())),
        "crashlooping": crashing,
        "pending_too_long": pending,
        "oom_killed": oom,
        "top_restarts": [{"pod": key, "restarts": count} for key, count in top],
        "restarts_source": source,
    }
    return Section(
        id="pods",
        title="Pods",
        summary=summary,
        findings=findings,
        score=section_score(len(inventory.pods), findings),
    )
