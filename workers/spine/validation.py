"""Post-action validation: did the change do what the proposal promised?

Checks run at growing intervals over the rule's watch window (after, 2×after, 4×after, … until
``for`` has passed). Built-in checks look at the workload through the API; rule checks are PromQL
expressions that hold when they return at least one sample.

A plan's ``workload`` is ``{"namespace", "kind", "name"}`` for a Deployment, StatefulSet or DaemonSet
(``{"namespace", "deployment"}`` is the older form of a Deployment). Built-in checks:

- ``target_ready``: the rollout is complete for the workload's kind (below) and every replica Ready.
- ``restarts_stable``: the pods' restart total does not grow past the first round's.
- ``pods_ready`` (``within_s``, default 300): every pod Ready within that many seconds of the first
  round; until then the check is undecided, after it a pod still not Ready fails it.
- ``no_restarts``: no container of the current pods has restarted at all.
- ``no_oom_kills``: no container of the current pods was OOM-killed (now or as its last termination).

Rollout complete: a Deployment's ``updatedReplicas`` and ``readyReplicas`` reach ``spec.replicas``; a
StatefulSet's too, with ``currentRevision == updateRevision``; a DaemonSet's ``updatedNumberScheduled``
and ``numberReady`` reach ``desiredNumberScheduled``; and for every kind ``status.observedGeneration``
equals ``metadata.generation``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from workers.errors import AiopsError, NotFound
from workers.integrations.prometheus.queries import run_query, sample_values

if TYPE_CHECKING:
    from workers.integrations.kubernetes.client import Kube
    from workers.integrations.prometheus.client import Prometheus


def next_delay(after_s: int, round_: int) -> int:
    """Seconds until check ``round_ + 1``: after, then doubling."""
    return max(1, after_s * int(2**round_))


def workload_ref(workload: dict[str, str]) -> tuple[str, str, str]:
    """(kind, namespace, name) of a plan's ``workload`` in either form."""
    if workload.get("kind") and workload.get("name"):
        return str(workload["kind"]), str(workload["namespace"]), str(workload["name"])
    return "Deployment", str(workload["namespace"]), str(workload["deployment"])


def read_workload(kube: Kube, workload: dict[str, str]) -> dict[str, Any]:
    kind, namespace, name = workload_ref(workload)
    if kind == "Deployment":
        return kube.get_deployment(namespace, name)
    return kube.get_workload(kind, namespace, name)


def workload_pods(kube: Kube, plan_target: dict[str, str]) -> list[dict[str, Any]]:
    """Current pods of the workload a plan touched (or of the deleted pod's Deployment)."""
    found = read_workload(kube, plan_target)
    selector = found["spec"]["selector"].get("matchLabels") or {}
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    pods = kube.list_pods(plan_target["namespace"], label_selector)
    return [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]


def restart_total(pods: list[dict[str, Any]]) -> int:
    return sum(
        int(status.get("restartCount") or 0)
        for pod in pods
        for status in (pod.get("status") or {}).get("containerStatuses") or []
    )


def rollout_complete(obj: dict[str, Any], kind: str) -> tuple[bool, str]:
    """Whether the workload's controller has rolled every replica to the current template, and how far."""
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    seen = observed is None or observed == generation
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        updated = int(status.get("updatedNumberScheduled") or 0)
        ok = ready >= desired and updated >= desired and seen
        return ok, f"ready {ready}/{desired}, updated {updated}, observedGeneration {observed}/{generation}"
    wanted = int((obj.get("spec") or {}).get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ok = ready >= wanted and updated >= wanted and seen
    detail = f"ready {ready}/{wanted}, updated {updated}, observedGeneration {observed}/{generation}"
    if kind == "StatefulSet":
        current, update = status.get("currentRevision"), status.get("updateRevision")
        ok = ok and (current is None or update is None or current == update)
        detail += f", revision {current}/{update}"
    return ok, detail


def check_target_ready(kube: Kube, workload: dict[str, str]) -> dict[str, Any]:
    kind = workload_ref(workload)[0]
    ok, detail = rollout_complete(read_workload(kube, workload), kind)
    return {"name": "target_ready", "ok": ok, "detail": detail}


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def check_pods_ready(
    kube: Kube, workload: dict[str, str], within_s: int, state: dict[str, Any], now: float
) -> dict[str, Any]:
    """Every pod Ready and the rollout complete; undecided (None) until ``within_s`` have passed."""
    since = float(state.setdefault("pods_ready_since", now))
    obj = read_workload(kube, workload)
    complete, detail = rollout_complete(obj, workload_ref(workload)[0])
    pods = workload_pods(kube, workload)
    waiting = [str((p.get("metadata") or {}).get("name")) for p in pods if not _pod_ready(p)]
    if complete and pods and not waiting:
        return {"name": "pods_ready", "ok": True, "detail": f"{len(pods)} pod(s) Ready; {detail}"}
    late = now - since >= within_s
    shown = ", ".join(waiting) or "none yet"
    return {
        "name": "pods_ready",
        "ok": False if late else None,
        "detail": f"not Ready {'after' if late else 'within'} {within_s}s: {shown}; {detail}",
    }


def check_no_restarts(kube: Kube, workload: dict[str, str]) -> dict[str, Any]:
    pods = workload_pods(kube, workload)
    total = restart_total(pods)
    return {"name": "no_restarts", "ok": total == 0, "detail": f"{total} restart(s) in {len(pods)} pod(s)"}


def _oom(status: dict[str, Any]) -> bool:
    for key in ("state", "lastState"):
        terminated = (status.get(key) or {}).get("terminated") or {}
        if terminated.get("reason") == "OOMKilled":
            return True
    return False


def check_no_oom_kills(kube: Kube, workload: dict[str, str]) -> dict[str, Any]:
    killed = [
        f"{(pod.get('metadata') or {}).get('name')}/{status.get('name')}"
        for pod in workload_pods(kube, workload)
        for status in (pod.get("status") or {}).get("containerStatuses") or []
        if _oom(status)
    ]
    return {
        "name": "no_oom_kills",
        "ok": not killed,
        "detail": "no OOM kill" if not killed else "OOMKilled: " + ", ".join(killed),
    }


def check_restarts_stable(kube: Kube, workload: dict[str, str], baseline: int | None) -> dict[str, Any]:
    total = restart_total(workload_pods(kube, workload))
    if baseline is None:
        return {
            "name": "restarts_stable",
            "ok": True,
            "detail": f"baseline {total} restarts",
            "restarts": total,
        }
    ok = total <= baseline
    return {
        "name": "restarts_stable",
        "ok": ok,
        "detail": f"restarts {baseline} -> {total}",
        "restarts": total,
    }


def check_promql(prometheus: Prometheus, name: str, query: str) -> dict[str, Any]:
    try:
        values = sample_values(run_query(prometheus, query))
    except AiopsError as exc:
        return {"name": name, "ok": None, "detail": f"could not evaluate: {exc}", "query": query}
    return {"name": name, "ok": bool(values), "detail": f"{len(values)} sample(s)", "query": query}


def run_checks(
    kube: Kube, prometheus: Prometheus, plan: dict[str, Any], state: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run every check of ``plan``; ``state`` carries the restart baseline between rounds."""
    workload = plan.get("workload")
    results = []
    for check in plan.get("checks") or []:
        try:
            if check.get("kubernetes") == "target_ready" and workload:
                results.append(check_target_ready(kube, workload))
            elif check.get("kubernetes") == "restarts_stable" and workload:
                result = check_restarts_stable(kube, workload, state.get("restart_baseline"))
                state.setdefault("restart_baseline", result["restarts"])
                results.append(result)
            elif check.get("kubernetes") == "pods_ready" and workload:
                within = int(check.get("within_s") or 300)
                results.append(check_pods_ready(kube, workload, within, state, time.time()))
            elif check.get("kubernetes") == "no_restarts" and workload:
                results.append(check_no_restarts(kube, workload))
            elif check.get("kubernetes") == "no_oom_kills" and workload:
                results.append(check_no_oom_kills(kube, workload))
            elif check.get("promql"):
                results.append(check_promql(prometheus, check.get("name") or "promql", check["promql"]))
        except NotFound as exc:
            results.append(
                {"name": check.get("name") or check.get("kubernetes"), "ok": False, "detail": str(exc)}
            )
    return results


def verdict(results: list[dict[str, Any]]) -> bool | None:
    """False if any check failed, None if some could not be evaluated, else True."""
    if any(result["ok"] is False for result in results):
        return False
    if any(result["ok"] is None for result in results):
        return None
    return True
