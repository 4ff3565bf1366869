"""Evidence from Prometheus: run a rule's rendered queries and keep one number per query.

A figure from a range function (``increase(x[1h])``) is kept only when its series had the history
the range asks for; otherwise the figure is None and ``evidence['metric_notes']`` says why, so that
no approver reads "0 restarts in 1h" next to a pod that restarted 7 times (see ``history``).
"""

from __future__ import annotations

import math
import time
from typing import Any

from workers.integrations.prometheus import history
from workers.integrations.prometheus.client import Prometheus


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


def run_query(prometheus: Prometheus, query: str) -> list[dict[str, Any]]:
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


def query_with_history(prometheus: Prometheus, query: str) -> tuple[list[float], str | None]:
    """The values of ``query``, and a note when a range in it lacked history (then no values).

    The history terms travel in the same request as the query. Should Prometheus refuse the
    combined expression (a query this module cannot extend, such as a scalar), the query runs
    alone and its values are kept unchecked, with a note saying so.
    """
    from workers.errors import PermanentError

    selectors = history.checked(query)
    if not selectors:
        return sample_values(run_query(prometheus, query)), None
    try:
        result = run_query(prometheus, history.combined(query, selectors))
    except PermanentError:
        values = sample_values(run_query(prometheus, query))
        return values, "history not checked: Prometheus refused the history terms for this query"
    own, figures, now = history.split(result)
    note = history.assess(selectors, figures, now if now is not None else time.time())
    return ([] if note else sample_values(own)), note


def gather_prometheus(prometheus: Prometheus, queries: dict[str, str], evidence: dict[str, Any]) -> None:
    """Fill ``evidence['metrics']`` with the largest value of each query, or None (with a note in
    ``evidence['metric_notes']`` when a range had too little history to mean anything yet)."""
    from workers.errors import AiopsError

    notes = evidence.setdefault("metric_notes", {})
    for name, query in queries.items():
        evidence["queries"][name] = query
        try:
            values, note = query_with_history(prometheus, query)
        except AiopsError as exc:
            evidence["metrics"][name] = None
            evidence["errors"].append(f"prometheus {name}: {exc}")
            continue
        evidence["metrics"][name] = max(values) if values else None
        if note:
            notes[name] = note
