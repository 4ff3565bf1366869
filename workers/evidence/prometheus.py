"""Evidence from Prometheus: run a rule's rendered queries and keep one number per query."""

from __future__ import annotations

import math
from typing import Any


def sample_values(result: list[dict[str, Any]]) -> list[float]:
    """The numeric values of an instant-query vector result (NaN and Inf dropped)."""
    values = []
    for series in result:
        try:
            value = float(series["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if math.isfinite(value):
            values.append(value)
    return values


def run_query(prometheus: Any, query: str) -> list[dict[str, Any]]:
    """One instant query; raises ``TemporaryError`` when Prometheus cannot answer."""
    from prometheus_api_client.exceptions import PrometheusApiClientException
    from requests import RequestException

    from workers.errors import PermanentError, TemporaryError

    try:
        return prometheus.custom_query(query=query)
    except RequestException as exc:
        raise TemporaryError(f"prometheus: {type(exc).__name__}: {exc}") from exc
    except PrometheusApiClientException as exc:
        if "Status Code 4" in str(exc):
            raise PermanentError(f"prometheus rejected the query: {exc}") from exc
        raise TemporaryError(f"prometheus: {exc}") from exc


def gather_prometheus(prometheus: Any, queries: dict[str, str], evidence: dict[str, Any]) -> None:
    """Fill ``evidence['metrics']`` with the largest value of each query, or None."""
    from workers.errors import AiopsError

    for name, query in queries.items():
        evidence["queries"][name] = query
        try:
            values = sample_values(run_query(prometheus, query))
        except AiopsError as exc:
            evidence["metrics"][name] = None
            evidence["errors"].append(f"prometheus {name}: {exc}")
            continue
        evidence["metrics"][name] = max(values) if values else None
