"""Escalation: a security audit with a new critical finding notifies every sink at once, with the
finding's escalation text and the report's link, and records it; an audit with none new does not."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kubernetes import client
from werkzeug.wrappers import Request, Response

from sandbox.server import SandboxCluster
from tests.support.reports import Clock, make_context
from tests.support.security_audit import NOW, SCENARIO
from tests.support.served import ServedApp
from workers.integrations.kubernetes.client import Kube
from workers.spine.context import Context
from workers.spine.reports import run_report
from workers.workflows.security_audit import drift


class Inbox:
    """A webhook sink's other end: keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            self.bodies.append(json.loads(request.get_data()))
        return Response('{"ok": true}', mimetype="application/json")(environ, start_response)

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            taken, self.bodies = self.bodies, []
        return taken


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    box = Inbox()
    with ServedApp(box) as served:
        yield box, served.url + "/hook"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def cluster(clock: Clock) -> Iterator[SandboxCluster]:
    started = SandboxCluster.from_dir(SCENARIO, clock=clock).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def context(
    redis_conn: redis.Redis, clock: Clock, cluster: SandboxCluster, inbox: tuple[Inbox, str]
) -> Context:
    _, url = inbox
    return make_context(
        redis_conn,
        clock,
        lambda: Kube(cluster.api_client()),
        extra={
            "notify": {"sinks": [{"type": "webhook", "url": url}], "public_url": "https://aiops.example.com"},
            "security": {"allowed_registries": ["registry.example.com"]},
        },
    )


def _escalations(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [body for body in bodies if str(body["event"]).startswith("escalation:")]


def test_a_new_critical_finding_escalates_at_once_and_an_unchanged_audit_does_not(
    context: Context, cluster: SandboxCluster, clock: Clock, inbox: tuple[Inbox, str]
) -> None:
    box, _ = inbox
    with cluster.api_client() as api:
        rbac = client.RbacAuthorizationV1Api(api)
        binding = rbac.read_cluster_role_binding("bob-admin")
        rbac.delete_cluster_role_binding("bob-admin")
    first = run_report(context, "security")
    assert "bob-admin" not in {f.name for f in first.findings()}
    # The first audit is the baseline: its criticals are all new, so they escalate too.
    (baseline,) = _escalations(box.take())
    assert [(f["check"], f["name"]) for f in baseline["findings"]] == [("rbac.wildcard_all", "ops-superuser")]

    with cluster.api_client() as api:  # the week after, someone binds cluster-admin to bob
        binding.metadata = client.V1ObjectMeta(name="bob-admin")
        client.RbacAuthorizationV1Api(api).create_cluster_role_binding(binding)
    clock.now += dt.timedelta(days=7)
    second = run_report(context, "security")

    (critical,) = [f for f in second.findings() if f.check == "rbac.cluster_admin"]
    bodies = box.take()
    assert [body["event"] for body in bodies] == ["report_stored", "escalation: 1 new critical finding(s)"]
    escalation = bodies[1]
    link = f"https://aiops.example.com/ui/reports/{second.id}"
    assert escalation["link"] == link and link in escalation["text"]
    assert drift.escalation_text(critical) in escalation["text"]
    assert [(f["check"], f["name"]) for f in escalation["findings"]] == [("rbac.cluster_admin", "bob-admin")]
    record = context.records.get(str(second.record_id))
    (entry,) = [e for e in record["entries"] if e["kind"] == "escalation"]
    assert entry["data"]["event"] == "escalation: 1 new critical finding(s)"
    assert entry["data"]["link"] == link
    url = context.settings.notify.sinks[0].url
    assert entry["data"]["notified"] == [
        {"sink": "webhook", "url": url, "signed": False, "ok": True, "status": 200, "attempts": 1}
    ]

    clock.now += dt.timedelta(days=7)
    third = run_report(context, "security")
    assert third.changes["new_critical"] == []
    bodies = box.take()
    assert [body["event"] for body in bodies] == ["report_stored"]
    assert not _escalations(bodies)
    kinds = [e["kind"] for e in context.records.get(str(third.record_id))["entries"]]
    assert "escalation" not in kinds and "report_stored" in kinds
