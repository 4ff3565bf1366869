"""The generic webhook sink against a real HTTP server on loopback: the body signed (HMAC-SHA256 header the
receiver verifies), 5xx retried with backoff until it succeeds, 4xx not retried, and a sink that never
answers recorded as failed in the audit record while the proposal is parked all the same."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from rules.registry import RuleRegistry
from tests.support.served import ServedApp
from tests.support.servers import free_port
from workers.domain import Target
from workers.integrations.notify import webhook
from workers.integrations.notify.sinks import deliver
from workers.settings import DEFAULT_RULES_DIR, NotifySettings, NotifySink, Settings
from workers.spine.context import Context
from workers.spine.parking import park

SECRET = "webhook-signing-secret-0001"


class Receiver(ServedApp):
    """A webhook receiver that answers ``statuses`` in turn (then 200) and verifies each signature."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.seen: list[dict[str, Any]] = []
        super().__init__(self._wsgi)

    @property
    def hook(self) -> str:
        return f"{self.url}/hook"

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        body = request.get_data()
        valid = webhook.verify(
            SECRET,
            request.headers.get(webhook.TIMESTAMP_HEADER),
            body,
            request.headers.get(webhook.SIGNATURE_HEADER),
            now=time.time(),
        )
        self.seen.append({"body": json.loads(body), "valid": valid})
        return Response(status=self.statuses.pop(0) if self.statuses else 200)


def settings_for(url: str, **sink: Any) -> NotifySettings:
    return NotifySettings.model_validate(
        {"webhook_secret": SECRET, "sinks": [{"type": "webhook", "url": url, "backoff_s": 0, **sink}]}
    )


def test_signed_body_retried_on_5xx_until_it_is_taken() -> None:
    with Receiver([503, 502]) as receiver:
        outcomes = deliver(settings_for(receiver.hook), {"event": "proposal pending", "proposal_id": "p-1"})
    assert outcomes == [
        {"sink": "webhook", "url": receiver.hook, "signed": True, "ok": True, "status": 200, "attempts": 3}
    ]
    assert len(receiver.seen) == 3 and all(seen["valid"] for seen in receiver.seen)
    assert receiver.seen[-1]["body"]["proposal_id"] == "p-1"


def test_a_client_error_is_final_and_the_sinks_own_secret_wins() -> None:
    with Receiver([400]) as receiver:
        settings = settings_for(receiver.hook, secret="another-sinks-own-secret")
        outcome = deliver(settings, {"event": "x"})[0]
    assert outcome["ok"] is False and outcome["status"] == 400 and outcome["attempts"] == 1
    assert receiver.seen[0]["valid"] is False  # signed with the sink's own key, not notify.webhook_secret


def test_unsigned_without_a_secret() -> None:
    with Receiver([]) as receiver:
        sink = NotifySink(type="webhook", url=receiver.hook, backoff_s=0)
        outcome = webhook.post(sink, {"event": "x"})
    assert outcome["ok"] is True and outcome["signed"] is False and receiver.seen[0]["valid"] is False


@dataclass
class NoAction:
    type: str = "none"
    params: dict[str, Any] | None = None
    expected_outcome: str = "nothing changes"
    validation_plan: str = ""
    runbook: str | None = "docs/runbooks/crashloopbackoff.md"
    reasoning: str = "no safe action"


@pytest.fixture
def context(redis_conn) -> Context:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    settings = Settings.model_validate(
        {
            "notify": {
                "webhook_secret": SECRET,
                "sinks": [{"type": "log"}, {"type": "webhook", "url": dead, "attempts": 2, "backoff_s": 0}],
            }
        }
    )
    return Context(settings=settings, redis=redis_conn, rules=RuleRegistry(DEFAULT_RULES_DIR))


def test_a_failed_notification_is_recorded_and_the_proposal_is_parked_all_the_same(context) -> None:
    context.records.open("r-web", {"rule": "api:test"})
    parked = park(
        context,
        proposal_id="p-web",
        record_id="r-web",
        rule="api:test",
        playbook="pod-failure",
        subject={"kind": "Pod", "namespace": "shop", "name": "web-1"},
        workload=Target(kind="Deployment", namespace="shop", name="web"),
        diagnosis={"summary": "crash"},
        draft=NoAction(),
        evidence={},
        validation_plan={"checks": []},
    )
    assert parked.created and context.proposals.get("p-web").status == "pending"
    entry = next(e for e in context.records.get("r-web")["entries"] if e["kind"] == "notification")
    log_sink, failed = entry["data"]["sinks"]
    assert log_sink == {"sink": "log", "ok": True}
    assert failed["ok"] is False and failed["attempts"] == 2 and "ConnectError" in failed["error"]
