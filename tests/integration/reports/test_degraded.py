"""Degraded input: Prometheus unreachable, a list forbidden by RBAC. The report is still produced and
says, in the section concerned, what it could not read and why."""

from __future__ import annotations

import pytest
import redis

import sandbox.api
from tests.support.reports import Env, make_context
from workers.integrations.kubernetes.client import Kube
from workers.spine.reports import ReportStore, run_report


def test_prometheus_unreachable_keeps_the_kubernetes_sections(env: Env) -> None:
    report = run_report(env.context, "health")  # prometheus.url points at a closed port
    sections = {s.id: s for s in report.sections}
    metrics = sections["services"]
    assert metrics.title == "Metrics unavailable" and metrics.score is None
    assert metrics.unavailable is not None
    assert metrics.unavailable == (
        "metrics unavailable: http://127.0.0.1:9: Prometheus did not answer: [Errno 111] Connection refused; "
        "latency and error rates are left out, the Kubernetes sections are complete"
    )
    for produced in ("pods", "nodes", "workloads", "capacity"):
        assert sections[produced].unavailable is None and sections[produced].score is not None
    pods = sections["pods"].summary
    assert pods["total"] == 300 and pods["restarts_source"].startswith("container restart counts")
    assert report.notes == ["M" + metrics.unavailable[1:]]
    assert report.score is not None  # scored from the sections that were produced


@pytest.fixture
def forbid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's read-only user may no longer list PodDisruptionBudgets or Pods (as if RBAC said so)."""
    monkeypatch.setattr(sandbox.api, "READ_ONLY_HIDDEN", {"secrets", "poddisruptionbudgets", "pods"})


def test_forbidden_lists_are_named_in_their_sections(env: Env, redis_conn: redis.Redis, forbid: None) -> None:
    context = make_context(redis_conn, env.clock, lambda: Kube(env.cluster.api_client("sandbox-readonly")))
    report = run_report(context, "health")
    sections = {s.id: s for s in report.sections}
    for section in ("pods", "capacity"):
        assert sections[section].score is None
        assert "pods: forbidden" in (sections[section].unavailable or "")
        assert 'cannot list resource "pods"' in (sections[section].unavailable or "")
    workloads = sections["workloads"]  # partial: Deployments, StatefulSets and HPAs were read
    assert workloads.score is not None and workloads.summary["deployments"] > 0
    assert workloads.summary["pdbs"] == 0
    assert "poddisruptionbudgets: forbidden" in (workloads.unavailable or "")
    assert sections["nodes"].unavailable is None and sections["nodes"].summary["total"] == 10
    stored = ReportStore(redis_conn, env.clock, context.settings.reports).get(report.id)
    assert stored.sections[0].unavailable == sections["pods"].unavailable
