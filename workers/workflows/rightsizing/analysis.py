"""The right-sizing engine: a workload's figures in, one result per container out (the CLI, the API
job and the schedule share it).

The guards, in the order they apply, each stated in the container's ``reason`` and ``guards``:
no figures or less than ``history_days`` of them → ``insufficient_data``; restarts or OOM kills in the
window → memory is never lowered (``unstable`` when that leaves nothing to change); the backtest fails
→ ``backtest_failed``; an HPA scales on a changed resource's utilization → its target is recomputed so
that the absolute scale point (target × old request) is kept, or ``hpa_managed`` when that needs a
target outside 10–95 %; every change under the hysteresis → ``no_change``. Values whose own change is
under the hysteresis keep their current value, so an approved change moves only what is worth moving.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workers.integrations.kubernetes.quantities import format_bytes, format_millicores
from workers.settings import RightsizingSettings, ScalingSettings
from workers.spine import pricing
from workers.workflows.rightsizing import backtest, recommend
from workers.workflows.rightsizing.model import ContainerUsage, Resources, Status, WorkloadUsage

RUNBOOK = "docs/runbooks/resource-optimization.md"
HPA_TARGET_RANGE = (10, 95)
FIELDS = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")


def cpu_text(cores: float | None) -> str | None:
    return None if cores is None else format_millicores(max(0, -(-round(cores * 1e6) // 1000)))


def memory_text(count: float | None) -> str | None:
    if count is None:
        return None
    whole = -(-round(count) // 1024) * 1024  # up to a KiB: exact enough to check the formula
    return format_bytes(whole)


def quantities(res: Resources) -> dict[str, str | None]:
    return {
        "cpu_request": cpu_text(res.cpu_request),
        "cpu_limit": cpu_text(res.cpu_limit),
        "memory_request": memory_text(res.memory_request),
        "memory_limit": memory_text(res.memory_limit),
    }


@dataclass
class ContainerResult:
    """One container's answer; ``to_dict`` is the JSON of ``aiops rightsize --format json``."""

    namespace: str
    kind: str
    name: str
    container: str
    current: Resources
    recommended: Resources
    status: Status
    reason: str
    margin: float
    days_of_data: float
    figures: dict[str, float]
    guards: list[dict[str, str]] = field(default_factory=list)
    arithmetic: dict[str, str] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)
    savings: dict[str, Any] = field(default_factory=dict)
    hpa: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    def percentiles(self) -> dict[str, dict[str, str | None]]:
        f = self.figures
        return {
            "cpu": {k: cpu_text(f.get(f"cpu_{k}")) for k in ("p50", "p95", "p99", "max")},
            "memory": {k: memory_text(f.get(f"memory_{k}")) for k in ("p50", "p95", "p99", "max")},
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "container": self.container,
            "status": str(self.status),
            "reason": self.reason,
            "current": quantities(self.current),
            "recommended": quantities(self.recommended),
            "percentiles": self.percentiles(),
            "margin": self.margin,
            "days_of_data": self.days_of_data,
            "savings": self.savings,
            "backtest": self.backtest,
            "guards": self.guards,
            "arithmetic": self.arithmetic,
            "changed": self.changed,
            "data": self.data,
        }
        if self.hpa is not None:
            out["hpa"] = self.hpa
        return out


def savings(current: Resources, new: Resources, replicas: int, prices: ScalingSettings) -> dict[str, Any]:
    """Request reduction in % (positive: less is requested) and the monthly cost difference."""

    def pct(before: float | None, after: float | None) -> float | None:
        relative = recommend.change(before, after)
        return None if relative is None else round(-relative * 100, 1)

    before = pricing.monthly(current.cpu_request or 0.0, current.memory_request or 0.0, prices)
    after = pricing.monthly(new.cpu_request or 0.0, new.memory_request or 0.0, prices)
    return {
        "cpu_request_pct": pct(current.cpu_request, new.cpu_request),
        "memory_request_pct": pct(current.memory_request, new.memory_request),
        "monthly": round((before - after) * max(replicas, 0), 2),
        "currency": prices.currency,
        "replicas": replicas,
    }


def _days(figures: dict[str, float], now: float, settings: RightsizingSettings) -> tuple[float, bool]:
    first = figures.get("first_seen")
    if first is None:
        return 0.0, False
    seconds = max(0.0, now - first)
    # The first subquery point falls up to a step after the window opens, plus scrape jitter.
    enough = seconds + 2 * settings.step_s + 120 >= settings.history_days * 86400
    return round(min(seconds / 86400, float(settings.history_days)), 2), enough


def _blend(current: Resources, sized: Resources, changed: list[str]) -> Resources:
    """The sized values where the change is worth it, the current ones elsewhere; limits >= requests."""
    out = Resources(**{name: getattr(sized if name in changed else current, name) for name in FIELDS})
    if (
        out.memory_limit is not None
        and out.memory_request is not None
        and out.memory_limit < out.memory_request
    ):
        out.memory_limit = sized.memory_limit
    if out.cpu_limit is not None and out.cpu_request is not None and out.cpu_limit < out.cpu_request:
        out.cpu_limit = out.cpu_request
    return out


def analyse_container(
    usage: WorkloadUsage,
    container: ContainerUsage,
    settings: RightsizingSettings,
    prices: ScalingSettings,
    now: float,
) -> ContainerResult:
    f = dict(container.figures.values)
    days, enough = _days(f, now, settings)
    result = ContainerResult(
        namespace=usage.namespace,
        kind=usage.kind,
        name=usage.name,
        container=container.name,
        current=container.current,
        recommended=Resources(**asdict(container.current)),
        status=Status.ok,
        reason="",
        margin=settings.margin,
        days_of_data=days,
        figures=f,
        data={
            "window_days": settings.history_days,
            "step": f"{settings.step_s}s",
            "points": int(f.get("points") or 0),
            "pods": container.pods,
            "startup_excluded_minutes": settings.startup_exclusion_minutes,
            "restarts": round(f.get("restarts") or 0),
            "oom_kills": int(f.get("oom_kills") or 0),
        },
    )
    needed = ("cpu_p95", "cpu_max", "memory_p95", "memory_max")
    if any(f.get(k) is None for k in needed):
        if usage.errors:
            result.status, result.reason = Status.no_metrics, "; ".join(usage.errors)
        else:
            missing = ", ".join(k for k in needed if f.get(k) is None)
            result.status = Status.insufficient_data
            result.reason = f"no usage samples in Prometheus for this container ({missing} missing)"
        result.guards.append({"guard": "history", "reason": result.reason})
        return result
    if not enough:
        result.status = Status.insufficient_data
        result.reason = f"{days} days of data; {settings.history_days} are needed before anything is proposed"
        result.guards.append({"guard": "history", "reason": result.reason})
    restarts, ooms = result.data["restarts"], result.data["oom_kills"]
    stable = restarts == 0 and ooms == 0
    if not stable:
        result.guards.append(
            {
                "guard": "stability",
                "reason": f"{restarts} restart(s) and {ooms} OOM kill(s) in the window: "
                "memory is never lowered",
            }
        )
    sized = recommend.size(
        recommend.Usage(f["cpu_p95"], f["cpu_max"], f["memory_p95"], f["memory_max"]),
        container.current,
        settings,
        stable,
    )
    result.arithmetic = sized.arithmetic
    result.changed = recommend.changes_enough(container.current, sized.resources, settings.hysteresis)
    result.recommended = _blend(container.current, sized.resources, result.changed)
    test = backtest.run(container.figures, container.current, settings, stable)
    result.backtest = {
        "oom": test.oom,
        "throttled": test.throttled,
        "detail": test.detail,
        "fitted": {k: cpu_text(v) if k.startswith("cpu") else memory_text(v) for k, v in test.fitted.items()},
        "checked": {
            "cpu_max": cpu_text(test.checked.get("cpu_max")),
            "memory_max": memory_text(test.checked.get("memory_max")),
        },
    }
    result.savings = savings(container.current, result.recommended, usage.replicas, prices)
    if result.status != Status.ok:
        return result
    if test.failed:
        result.status, result.reason = Status.backtest_failed, f"backtest {test.detail}"
        result.guards.append({"guard": "backtest", "reason": result.reason})
    elif not result.changed:
        if sized.kept and not stable:
            result.status = Status.unstable
            result.reason = (
                f"{restarts} restart(s) and {ooms} OOM kill(s) in the window: memory stays, "
                f"and nothing else changes by {round(settings.hysteresis * 100)} % or more"
            )
        else:
            result.status = Status.no_change
            result.reason = f"every change is under {round(settings.hysteresis * 100)} % (hysteresis)"
        result.guards.append({"guard": "hysteresis", "reason": result.reason})
    else:
        result.reason = "recommended: " + ", ".join(result.changed)
    return result


def _hpa_metrics(hpa: dict[str, Any]) -> list[tuple[int, str, str | None, int]]:
    """(index, resource, container or None, averageUtilization) of the HPA's utilization metrics."""
    found = []
    for index, metric in enumerate((hpa.get("spec") or {}).get("metrics") or []):
        kind = metric.get("type")
        body = metric.get("resource") if kind == "Resource" else metric.get("containerResource")
        if kind not in ("Resource", "ContainerResource") or not body:
            continue
        target = body.get("target") or {}
        if target.get("type") == "Utilization" and target.get("averageUtilization"):
            container = body.get("container") if kind == "ContainerResource" else None
            found.append((index, str(body.get("name")), container, int(target["averageUtilization"])))
    return found


def retarget_hpas(usage: WorkloadUsage, results: list[ContainerResult]) -> list[dict[str, Any]]:
    """Each HPA target that must move to keep its absolute scale point, or refuse (``hpa_managed``).

    Utilization is usage / request summed over the pod's containers (one container for a
    ContainerResource metric): the scale point target × old request is kept by new target =
    target × old request / new request. Only containers whose recommendation stands count.
    """
    changes: list[dict[str, Any]] = []
    by_name = {r.container: r for r in results}
    for hpa in usage.hpas:
        hpa_name = str((hpa.get("metadata") or {}).get("name"))
        for index, resource, container, target in _hpa_metrics(hpa):
            key = f"{resource}_request"
            scoped = [by_name[container]] if container in by_name else results
            old = sum(getattr(r.current, key) or 0.0 for r in scoped)
            new = sum(
                getattr(r.recommended if r.status == Status.ok else r.current, key) or 0.0 for r in scoped
            )
            if old <= 0 or new <= 0 or abs(new - old) < 1e-12:
                continue
            wanted = round(target * old / new)
            shown = {
                "name": hpa_name,
                "metric": resource,
                "current_target_utilization": target,
                "recommended_target_utilization": wanted,
            }
            low, high = HPA_TARGET_RANGE
            point = (
                f"HPA {hpa_name} scales on {resource} at {target} % of the request "
                f"({_point(resource, old, target)} per pod)"
            )
            if not low <= wanted <= high:
                reason = (
                    f"{point}: keeping that scale point with the new request needs a target of {wanted} %, "
                    f"outside {low}-{high} %; change the HPA and the requests together by hand"
                )
                for r in scoped:
                    r.hpa = shown
                    if r.status == Status.ok:
                        r.status, r.reason = Status.hpa_managed, reason
                        r.guards.append({"guard": "hpa", "reason": reason})
                continue
            for r in scoped:
                r.hpa = shown
                r.guards.append(
                    {
                        "guard": "hpa",
                        "reason": f"{point}: its target becomes {wanted} % so that it scales "
                        "at the same point",
                    }
                )
            changes.append({**shown, "index": index, "container": container})
    return changes


def _point(resource: str, request: float, target: int) -> str:
    if resource == "cpu":
        return str(cpu_text(request * target / 100))
    return str(memory_text(request * target / 100))


def analyse(
    usage: WorkloadUsage, settings: RightsizingSettings, prices: ScalingSettings, now: float
) -> dict[str, Any]:
    """The workload's answer: every container's result, the HPA retargets, and the overall status."""
    results = [analyse_container(usage, c, settings, prices, now) for c in usage.containers]
    retargets = retarget_hpas(usage, results)
    proposed = [r for r in results if r.status == Status.ok]
    if any(r.status == Status.hpa_managed for r in results):
        proposed, retargets = [], []
        for r in results:
            if r.status == Status.ok:
                r.status, r.reason = Status.hpa_managed, "another container's change would move the HPA"
    if not proposed:
        retargets = []
    total = {
        "monthly": round(sum(r.savings.get("monthly") or 0.0 for r in proposed), 2),
        "currency": prices.currency,
    }
    status = Status.ok if proposed else (results[0].status if results else Status.insufficient_data)
    return {
        "namespace": usage.namespace,
        "kind": usage.kind,
        "name": usage.name,
        "replicas": usage.replicas,
        "generation": usage.generation,
        "status": str(status),
        "containers": [r.to_dict() for r in results],
        "proposed": [r.container for r in proposed],
        "hpa_retargets": retargets,
        "savings": total,
        "errors": list(usage.errors),
        "runbook": RUNBOOK,
    }
