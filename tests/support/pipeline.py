"""A whole responder on one machine for tests: sandbox cluster, real Prometheus, real Redis, the receiver
app and in-process RQ workers. Nothing of the project's own is replaced."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from rq import SimpleWorker

from receiver.app import create_app
from receiver.auth import TokenBook
from receiver.payload import alertmanager_payload
from rules.registry import RuleRegistry
from sandbox.localprom import BinaryServer, free_port, start_prometheus, wait_for_series
from sandbox.server import SandboxCluster
from workers.integrations.kubernetes.client import Kube
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine import queues
from workers.spine.context import Context, install

TOKENS = {
    "approver": "approver-secret-token-1",
    "viewer": "viewer-secret-token-0001",
    "webhook": "webhook-secret-token-001",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def fast_rules(directory: Path, after: str = "1s", window: str = "3s", cooldown: str | None = None) -> Path:
    """The default rules with a short validation window, so a test watches a whole window."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted(DEFAULT_RULES_DIR.glob("*.yaml")):
        rule = yaml.safe_load(source.read_text())
        rule["validate"]["after"], rule["validate"]["for"] = after, window
        if cooldown is None:
            rule.pop("cooldown", None)
        else:
            rule["cooldown"] = cooldown
        (directory / source.name).write_text(yaml.safe_dump(rule, sort_keys=False))
    return directory


@dataclass
class Pipeline:
    cluster: SandboxCluster
    prometheus: BinaryServer | None
    context: Context
    app: Any

    @property
    def client(self) -> Any:
        return self.app.test_client()

    def post_alerts(self, *alerts: dict[str, Any]) -> dict[str, Any]:
        body = alertmanager_payload(list(alerts))
        response = self.client.post("/webhooks/alertmanager", json=body, headers=auth("webhook"))
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()

    def work(self, until: Callable[[], Any] | None = None, timeout: float = 30.0) -> Any:
        """Run burst workers (with the scheduler) until ``until()`` is truthy, or once without it."""
        install(self.context)
        deadline = time.monotonic() + timeout
        while True:
            worker = SimpleWorker(
                [queues.queue(name, self.context.redis) for name in queues.ALL], connection=self.context.redis
            )
            worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
            if until is None:
                return None
            value = until()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError("pipeline did not reach the expected state in time")
            time.sleep(0.25)

    def proposals(self, status: str | None = None) -> list[Any]:
        return self.context.proposals.list(status=status, limit=500)


def crash_alert(
    pod: str,
    namespace: str = "shop",
    container: str = "app",
    alertname: str = "KubePodCrashLooping",
    starts: str | None = None,
    status: str = "firing",
    fingerprint: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": alertname,
            "namespace": namespace,
            "pod": pod,
            "container": container,
            "severity": "warning",
            "job": "kube-state-metrics",
        },
        "annotations": {"summary": f"{namespace}/{pod} ({container}) is crash looping"},
        "startsAt": starts or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-25T11:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint or f"{namespace}-{pod}-{container}-{alertname}".lower(),
    }


@dataclass
class ScrapeSlot:
    """A Prometheus that scrapes one fixed loopback port; each test starts its sandbox on that port.

    Prometheus hands new targets to its scrapers at most every 5 s, so one long-lived target that
    the tests' sandboxes take turns on saves those seconds per test.
    """

    prometheus: BinaryServer
    port: int


def start_scrape_slot(workdir: Path) -> ScrapeSlot:
    port = free_port()
    return ScrapeSlot(start_prometheus(workdir, [f"127.0.0.1:{port}"]), port)


def build_pipeline(
    scenario: Path,
    redis_conn: Any,
    redis_url: str,
    workdir: Path,
    rules_dir: Path,
    slot: ScrapeSlot | None = None,
) -> Pipeline:
    prometheus = None
    prometheus_url = "http://127.0.0.1:9"  # nothing listens: queries fail fast and are recorded
    cluster = SandboxCluster.from_dir(scenario).start(port=slot.port if slot else 0)
    if slot is not None:
        prometheus = slot.prometheus
        prometheus_url = prometheus.url
        wait_for_series(prometheus, "kube_pod_container_status_restarts_total")
    settings = Settings.model_validate(
        {
            "redis": {"url": redis_url},
            "prometheus": {"url": prometheus_url, "timeout_s": 5},
            "rules": {"dir": str(rules_dir)},
            "notify": {"sinks": [{"type": "log"}]},
        }
    )
    context = Context(
        settings=settings,
        redis=redis_conn,
        rules=RuleRegistry(rules_dir),
        kube_factory=lambda: Kube(cluster.api_client()),
    )
    tokens = TokenBook(
        [{"name": f"{role}-user", "role": role, "token": token} for role, token in TOKENS.items()]
    )
    return Pipeline(cluster=cluster, prometheus=prometheus, context=context, app=create_app(context, tokens))


def stop_pipeline(pipeline: Pipeline) -> None:
    pipeline.cluster.stop()
