"""The PromQL of right-sizing: one query per figure per namespace, never one per pod.

Every query covers all containers of a namespace and keeps ``namespace, pod, container``; the pods are
joined to their workloads in Python (``evidence``) from two owner queries, so the number of queries does
not grow with the pods. Percentiles are ``quantile_over_time`` over a subquery of ``rate()`` (CPU) or of
the gauge (memory), with the first minutes after each container start left out
(``kube_pod_container_state_started``): start-up is not steady-state use. Maxima keep start-up in, since
a limit must hold it. The backtest's fit figures are the same queries over the window minus its last
days (``offset``), and its check figures the maxima over those last days. Label values reach PromQL only
through ``rules.templating.promql_quote``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.templating import promql_quote

BY = "namespace, pod, container"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class Window:
    """What the queries cover: ``days`` of history at ``step_s``, the last ``holdout_days`` held out."""

    days: int
    step_s: int
    rate_window: str
    startup_s: int
    holdout_days: int


def _selector(metric: str, namespace: str, extra: str = "") -> str:
    ns = promql_quote(namespace)
    return f'{metric}{{namespace={ns}, container!="", container!="POD"{extra}}}'


def _steady(expr: str, namespace: str, startup_s: int) -> str:
    """``expr`` without the samples of a container's first ``startup_s`` seconds."""
    if startup_s <= 0:
        return expr
    started = f"kube_pod_container_state_started{{namespace={promql_quote(namespace)}}}"
    return f"({expr} unless on ({BY}) (time() - {started} < {startup_s}))"


def cpu_rate(namespace: str, window: Window) -> str:
    return f"rate({_selector('container_cpu_usage_seconds_total', namespace)}[{window.rate_window}])"


def memory(namespace: str) -> str:
    return _selector("container_memory_working_set_bytes", namespace)


def _range(days: float, step_s: int, offset_days: float = 0) -> str:
    span = f"[{int(days * 24)}h:{step_s}s]"
    return span + (f" offset {int(offset_days * 24)}h" if offset_days else "")


def _raw(window: Window) -> tuple[str, str, str]:
    """The whole window, the fit part and the held-out part as plain ranges (raw samples)."""
    fit_h, hold_h = (window.days - window.holdout_days) * 24, window.holdout_days * 24
    return f"[{window.days * 24}h]", f"[{fit_h}h] offset {hold_h}h", f"[{hold_h}h]"


def figure_queries(namespace: str, window: Window) -> dict[str, str]:
    """Every query of one namespace, by figure name (``cpu_p95``, ``fit_memory_max``, ``restarts``...)."""
    cpu, mem = cpu_rate(namespace, window), memory(namespace)
    full = _range(window.days, window.step_s)
    fit = _range(window.days - window.holdout_days, window.step_s, window.holdout_days)
    check = _range(window.holdout_days, window.step_s)
    queries: dict[str, str] = {}
    for resource, expr in (("cpu", cpu), ("memory", mem)):
        steady = _steady(expr, namespace, window.startup_s)
        for name, q in QUANTILES.items():
            queries[f"{resource}_{name}"] = f"max by ({BY}) (quantile_over_time({q}, {steady}{full}))"
        queries[f"fit_{resource}_p95"] = f"max by ({BY}) (quantile_over_time(0.95, {steady}{fit}))"
        # Memory maxima read every raw sample (a short start-up peak falls between subquery steps).
        peak = (full, fit, check) if resource == "cpu" else _raw(window)
        queries[f"{resource}_max"] = f"max by ({BY}) (max_over_time({expr}{peak[0]}))"
        queries[f"fit_{resource}_max"] = f"max by ({BY}) (max_over_time({expr}{peak[1]}))"
        queries[f"check_{resource}_max"] = f"max by ({BY}) (max_over_time({expr}{peak[2]}))"
    days = f"{window.days * 24}h"
    ns = promql_quote(namespace)
    # The first step with a sample (``time()`` where the series exists: timestamp() is ~100× slower here).
    queries["first_seen"] = f"min by ({BY}) (min_over_time((0 * {mem} + time()){full}))"
    queries["points"] = f"max by ({BY}) (count_over_time({mem}[{days}]))"
    queries["restarts"] = (
        f"max by ({BY}) (increase(kube_pod_container_status_restarts_total{{namespace={ns}}}[{days}]))"
    )
    queries["oom_kills"] = (
        f"max by ({BY}) (max_over_time(kube_pod_container_status_last_terminated_reason"
        f'{{namespace={ns}, reason="OOMKilled"}}[{days}]))'
    )
    queries["pod_owner"] = (
        "max by (namespace, pod, owner_kind, owner_name) "
        f"(max_over_time(kube_pod_owner{{namespace={ns}}}[{days}]))"
    )
    queries["replicaset_owner"] = (
        "max by (namespace, replicaset, owner_kind, owner_name) "
        f"(max_over_time(kube_replicaset_owner{{namespace={ns}}}[{days}]))"
    )
    return queries
