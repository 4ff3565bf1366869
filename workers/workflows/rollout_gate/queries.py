"""The error and request rates of one ReplicaSet's pods, from rule-templated PromQL.

The templates are rendered in the rule sandbox (``rules.templating.render``) with the rollout as
``labels``: ``namespace``, ``deployment``, ``replicaset``, ``pod_template_hash`` (of the ReplicaSet
measured), ``new_hash`` and ``old_hash``. Every value reaches PromQL through the ``promql`` filter, so a
hostile name cannot change a query. An empty result is "no sample" (None), never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rules.templating import render
from workers.integrations.prometheus.queries import run_query, sample_values
from workers.workflows.rollout_gate.model import GateConfig, Reading

if TYPE_CHECKING:
    from workers.integrations.prometheus.client import Prometheus

# The pods of one ReplicaSet, through kube-state-metrics' kube_pod_owner (no pod-label allowlist needed).
_PODS = (
    "max by (namespace, pod) (kube_pod_owner{namespace={{ labels.namespace | promql }}, "
    'owner_kind="ReplicaSet", owner_name={{ labels.replicaset | promql }}})'
)
DEFAULT_ERROR_RATE = (
    'sum(rate(http_requests_total{namespace={{ labels.namespace | promql }}, code=~"5.."}[1m])'
    f" * on (namespace, pod) group_left () {_PODS})"
)
"""5xx answers per second of the ReplicaSet's pods."""
DEFAULT_REQUEST_RATE = (
    "sum(rate(http_requests_total{namespace={{ labels.namespace | promql }}}[1m])"
    f" * on (namespace, pod) group_left () {_PODS})"
)
"""All answers per second of the ReplicaSet's pods."""
_DEPLOYMENT_PODS = (
    "max by (namespace, pod) (label_replace(kube_pod_owner{namespace={{ labels.namespace | promql }}, "
    'owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") * on (namespace, replicaset) '
    "group_left () max by (namespace, replicaset) (kube_replicaset_owner{namespace={{ labels.namespace "
    '| promql }}, owner_kind="Deployment", owner_name={{ labels.deployment | promql }}}))'
)
DEFAULT_VALIDATION = (
    "vector(1) unless on () ((sum(rate(http_requests_total{namespace={{ labels.namespace | promql }}, "
    f'code=~"5.."}}[1m]) * on (namespace, pod) group_left () {_DEPLOYMENT_PODS})'
    " / sum(rate(http_requests_total{namespace={{ labels.namespace | promql }}}[1m])"
    f" * on (namespace, pod) group_left () {_DEPLOYMENT_PODS})) >= 0.05)"
)
"""The undo's check when no rule gives one: the Deployment's 5xx share is under 5 %."""


def labels_for(
    namespace: str, deployment: str, replicaset: str | None, new_hash: str | None, old_hash: str | None
) -> dict[str, Any]:
    """The ``labels`` the gate's templates see for one ReplicaSet."""
    rs = replicaset or ""
    hash_ = rs.removeprefix(f"{deployment}-") if rs.startswith(f"{deployment}-") else ""
    return {
        "namespace": namespace,
        "deployment": deployment,
        "replicaset": rs,
        "pod_template_hash": hash_,
        "new_hash": new_hash or "",
        "old_hash": old_hash or "",
    }


def rendered(config: GateConfig, labels: dict[str, Any]) -> dict[str, str]:
    """The two queries for one ReplicaSet."""
    variables = {"labels": labels}
    return {
        "error_rate": render(config.error_rate_query, variables),
        "request_rate": render(config.request_rate_query, variables),
    }


def _first(prometheus: Prometheus, query: str) -> float | None:
    values = sample_values(run_query(prometheus, query))
    return sum(values) if values else None


def read(prometheus: Prometheus, config: GateConfig, labels: dict[str, Any]) -> Reading:
    """The ReplicaSet's rates now; raises ``TemporaryError``/``PermanentError`` when Prometheus fails."""
    if not labels.get("replicaset"):
        return Reading()
    queries = rendered(config, labels)
    requests = _first(prometheus, queries["request_rate"])
    errors = _first(prometheus, queries["error_rate"]) if requests is not None else None
    if requests is not None and errors is None:
        errors = 0.0  # requests but no 5xx series: none failed
    return Reading(replicaset=labels["replicaset"], error_rate=errors, request_rate=requests)
