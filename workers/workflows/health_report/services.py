"""Service health over the period, from PromQL in settings (``reports``, docs/reports.md):

latency p50/p95/p99 by ``histogram_quantile`` over each service's request-duration histogram, and the
error ratio (5xx over all requests). Services are discovered from the default queries' ``namespace`` and
``service`` labels; ``reports.services`` replaces the queries of one service. Prometheus unreachable
makes this the "Metrics unavailable" section, saying why; the Kubernetes sections do not depend on it.
"""

from __future__ import annotations

import math
import re
from typing import Any

from workers.domain import Finding, Section, Severity
from workers.errors import AiopsError, TemporaryError
from workers.integrations.prometheus.queries import run_query
from workers.settings import ReportSettings
from workers.workflows.health_report.scoring import section_score

QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
RESTARTS = "sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[{window}]))"


class MetricsUnavailable(Exception):
    """Prometheus could not be asked; the message says why."""


def _by_service(result: list[dict[str, Any]]) -> dict[str, float]:
    values: dict[str, float] = {}
    for series in result:
        labels = series.get("metric") or {}
        try:
            value = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(value) and labels.get("service"):
            values[f"{labels.get('namespace', '')}/{labels['service']}"] = value
    return values


def _one(result: list[dict[str, Any]]) -> float | None:
    for series in result:
        try:
            value = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(value):
            return value
    return None


def _brief(exc: Exception) -> str:
    """The cause of a failed query without the query's URL (which repeats the whole PromQL)."""
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] [^\"')]+", text)
    if errno:
        return errno.group(0).strip()
    return text if len(text) <= 300 else text[:299] + "…"


def _ask(prometheus: Any, query: str) -> list[dict[str, Any]]:
    try:
        return run_query(prometheus, query)
    except TemporaryError as exc:
        raise MetricsUnavailable(f"Prometheus did not answer: {_brief(exc)}") from exc


def week_restarts(prometheus: Any, window: str) -> dict[str, float] | None:
    """Restarts per ``namespace/pod`` over the period, or None when Prometheus cannot say."""
    if prometheus is None:
        return None
    try:
        result = _ask(prometheus, RESTARTS.format(window=window))
    except (MetricsUnavailable, AiopsError):
        return None
    found: dict[str, float] = {}
    for series in result:
        labels = series.get("metric") or {}
        try:
            value = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(value) and value > 0:
            found[f"{labels.get('namespace', '')}/{labels.get('pod', '')}"] = round(value, 1)
    return found


def measure(
    prometheus: Any, settings: ReportSettings, window: str
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Per service: p50/p95/p99 (seconds), requests/s, errors/s, error ratio; and the queries that failed."""
    services: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    buckets = settings.latency_buckets.format(window=window)
    for name, quantile in QUANTILES:
        for key, value in _by_service(_ask(prometheus, f"histogram_quantile({quantile}, {buckets})")).items():
            services.setdefault(key, {})[name] = round(value, 4)
    for key, total in _by_service(_ask(prometheus, settings.requests_total.format(window=window))).items():
        services.setdefault(key, {})["requests"] = round(total)
    requests = _by_service(_ask(prometheus, settings.requests.format(window=window)))
    failures = _by_service(_ask(prometheus, settings.errors.format(window=window)))
    for key, rate in requests.items():
        entry = services.setdefault(key, {})
        entry["requests_per_s"] = round(rate, 3)
        entry["error_ratio"] = round(failures.get(key, 0.0) / rate, 5) if rate > 0 else None
    for key, queries in settings.services.items():
        entry = services.setdefault(key, {})
        for name, quantile in QUANTILES:
            query = f"histogram_quantile({quantile}, {queries.latency_buckets.format(window=window)})"
            try:
                entry[name] = _one(_ask(prometheus, query))
            except AiopsError as exc:
                errors.append(f"{key} {name}: {exc}")
        try:
            entry["error_ratio"] = _one(_ask(prometheus, queries.error_ratio.format(window=window)))
        except AiopsError as exc:
            errors.append(f"{key} error_ratio: {exc}")
    return dict(sorted(services.items())), errors


def services_section(
    prometheus: Any, settings: ReportSettings, window: str, url: str = "Prometheus"
) -> Section:
    if prometheus is None:
        return _unavailable("no Prometheus is configured (prometheus.url)")
    try:
        services, errors = measure(prometheus, settings, window)
    except MetricsUnavailable as exc:
        return _unavailable(f"{url}: {exc}")
    except AiopsError as exc:
        return _unavailable(f"Prometheus refused a query: {exc}")
    findings: list[Finding] = []
    for key, figures in services.items():
        namespace, _, name = key.partition("/")
        where = {"namespace": namespace, "kind": "Service", "name": name}
        ratio = figures.get("error_ratio")
        if ratio is not None and ratio > settings.error_ratio_warn:
            critical = ratio > 5 * settings.error_ratio_warn
            findings.append(
                Finding(
                    check="services.error_rate",
                    title="Service error rate high",
                    severity=Severity.critical if critical else Severity.high,
                    score=5.0 + 100 * ratio,
                    message=f"{key}: {100 * ratio:.2f}% of requests failed (5xx) over the week",
                    remediation="find the failing version or dependency (aiops records, the rollout "
                    "gate) and roll back "
                    "or fix it",
                    evidence={
                        "error_ratio": ratio,
                        "threshold": settings.error_ratio_warn,
                        "requests_per_s": figures.get("requests_per_s"),
                    },
                    **where,
                )
            )
        p99 = figures.get("p99")
        if p99 is not None and p99 > settings.latency_p99_warn_s:
            findings.append(
                Finding(
                    check="services.latency",
                    title="Service latency high",
                    severity=Severity.medium,
                    score=3.0 + p99,
                    message=f"{key}: p99 latency {p99:.3f}s over the week (threshold "
                    f"{settings.latency_p99_warn_s}s)",
                    remediation="look at the slowest endpoints and dependencies; scale out if CPU-bound",
                    evidence={q: figures.get(q) for q, _ in QUANTILES},
                    **where,
                )
            )
    charts = [
        {
            "title": "Error ratio per service (week)",
            "unit": "%",
            "series": ["5xx"],
            "bars": [
                {"label": k, "values": [round(100 * (v.get("error_ratio") or 0.0), 3)]}
                for k, v in services.items()
            ],
        },
        {
            "title": "Latency per service (week)",
            "unit": "s",
            "series": ["p50", "p95", "p99"],
            "bars": [
                {"label": k, "values": [v.get(q) or 0.0 for q, _ in QUANTILES]} for k, v in services.items()
            ],
        },
    ]
    summary = {"window": window, "services": services, "charts": charts}
    if errors:
        summary["query_errors"] = errors
    return Section(
        id="services",
        title="Service health",
        summary=summary,
        findings=findings,
        score=section_score(len(services), findings),
    )


def _unavailable(reason: str) -> Section:
    return Section(
        id="services",
        title="Metrics unavailable",
        unavailable=f"metrics unavailable: {reason}; latency and error rates are left out, "
        "the Kubernetes sections are complete",
    )
