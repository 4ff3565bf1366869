"""Slack's Approve / Reject buttons end to end against a local stand-in for Slack: the Block Kit message is
posted with slack-sdk and passes Slack's documented limits; a press is accepted only when Slack's v0
signature holds within the 5-minute window; the Slack user must map to an approver; the decision goes
through the same compare-and-set as the API (single use, refused once not pending or expired) and the
message is replaced by its outcome through the response_url. Real Redis, real RQ worker, real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rq import SimpleWorker

from receiver.app import create_app
from rules.registry import RuleRegistry
from tests.standins.slack import SlackStandin, block_actions, press, sign
from tests.support.receiver_api import auth, park, token_book
from tests.support.served import ServedApp
from workers.integrations.notify.sinks import notify
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine import queues
from workers.spine.context import Context, install

SIGNING = "slack-signing-secret-000000000001"
ALICE, MALLORY = "U0ALICE", "U0MALLORY"


@pytest.fixture
def slack_api() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        yield standin


def make_context(redis_conn, slack_api: SlackStandin, **notify: Any) -> Context:
    settings = Settings.model_validate(
        {
            "notify": {
                "public_url": "https://aiops.example.org",
                "sinks": [{"type": "log"}],
                "slack_bot_token": slack_api.token,
                "slack_channel": "C0APPROVALS",
                "slack_signing_secret": SIGNING,
                "slack_users": {ALICE: "alice"},
                "slack_api_url": slack_api.api_url,
                **notify,
            }
        }
    )
    return Context(settings=settings, redis=redis_conn, rules=RuleRegistry(DEFAULT_RULES_DIR))


@pytest.fixture
def world(redis_conn, slack_api) -> dict[str, Any]:
    context = make_context(redis_conn, slack_api)
    return {"context": context, "client": create_app(context, token_book()).test_client(), "slack": slack_api}


def work(context: Context) -> None:
    install(context)
    SimpleWorker([queues.queue(queues.ACTIONS, context.redis)], connection=context.redis).work(
        burst=True, logging_level="WARNING"
    )


def click(world, proposal_id: str, action: str = "approve", user: str = ALICE, note: str | None = None):
    payload = block_actions(proposal_id, action, user, world["slack"].response_url(), note)
    return press(world["client"], SIGNING, payload)


def hooks(slack_api: SlackStandin) -> list[dict[str, Any]]:
    return [call.body for call in slack_api.calls if call.method.startswith("hooks/")]


def test_the_sink_posts_a_block_kit_message_slack_accepts(world) -> None:
    proposal = park(world["context"], "p-post")
    outcomes = notify(world["context"].settings.notify, proposal, "proposal pending")
    assert outcomes[0] == {"sink": "log", "ok": True}
    posted = outcomes[1]
    assert posted["sink"] == "slack" and posted["ok"] is True, posted
    assert posted["channel_id"] == "C0APPROVALS" and posted["ts"]
    call = world["slack"].posted()[0]
    assert call.headers["authorization"] == f"Bearer {world['slack'].token}"
    actions = next(block for block in call.body["blocks"] if block["type"] == "actions")
    assert [b["action_id"] for b in actions["elements"]] == ["approve", "reject", "open"]
    assert actions["elements"][2]["url"] == "https://aiops.example.org/ui/approvals/p-post"


def test_a_slack_failure_is_an_outcome_not_an_exception(redis_conn, slack_api) -> None:
    context = make_context(redis_conn, slack_api, slack_bot_token="xoxb-wrong-token-0000")
    proposal = park(context, "p-fail")
    assert notify(context.settings.notify, proposal, "proposal pending")[1] == {
        "sink": "slack",
        "channel": "C0APPROVALS",
        "ok": False,
        "error": "invalid_auth",
    }
    slack_api.mode = "down"
    down = notify(context.settings.notify, proposal, "proposal pending")[1]
    assert down["ok"] is False and down["error"]


def test_approve_from_slack_decides_records_and_replaces_the_message(world) -> None:
    context = world["context"]
    park(context, "p-ok")
    answer = click(world, "p-ok", note="looks right")
    assert answer.status_code == 200 and answer.headers["X-Aiops-Outcome"] == "approved"
    decided = context.proposals.get("p-ok")
    assert decided.status == "approved" and decided.decided_by == "alice" and decided.comment == "looks right"
    entries = context.records.get("r-ok")["entries"]
    approval = next(e for e in entries if e["kind"] == "approval")
    assert approval["data"]["by"] == "alice" and approval["data"]["proposal_id"] == "p-ok"
    via = next(e for e in entries if e["kind"] == "slack_action")["data"]
    assert via["slack_user"] == ALICE and via["outcome"] == "approved" and via["identity"] == "alice"

    work(context)  # the execution and the message update, both jobs
    assert context.proposals.get("p-ok").status == "succeeded"  # no plan: nothing to change
    (update,) = hooks(world["slack"])
    assert update["replace_original"] is True
    assert not [block for block in update["blocks"] if block["type"] == "actions"]
    assert "Approved" in str(update["blocks"]) and "by alice" in str(update["blocks"])


def test_bad_stale_or_missing_signatures_get_401(world) -> None:
    park(world["context"], "p-sig")
    payload = block_actions("p-sig", "approve", ALICE, world["slack"].response_url())
    client = world["client"]
    assert press(client, "not-the-signing-secret", payload).status_code == 401
    stale = int(time.time()) - 6 * 60
    assert press(client, SIGNING, payload, timestamp=stale).status_code == 401
    future = int(time.time()) + 6 * 60
    assert press(client, SIGNING, payload, timestamp=future).status_code == 401
    refused = press(client, SIGNING, payload, signature="v0=" + "0" * 64)
    assert refused.status_code == 401 and refused.get_json()["error"] == "unauthorized"
    unsigned = client.post("/integrations/slack/actions", data={"payload": "{}"})
    assert unsigned.status_code == 401
    # A body changed after signing fails too: the signature covers every byte.
    stamp = str(int(time.time()))
    signed = sign(SIGNING, stamp, b"payload=%7B%7D")
    tampered = client.post(
        "/integrations/slack/actions",
        data=b"payload=%7B%22x%22%3A1%7D",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signed,
        },
    )
    assert tampered.status_code == 401
    assert world["context"].proposals.get("p-sig").status == "pending"


def test_without_a_signing_secret_the_endpoint_is_off(redis_conn, slack_api) -> None:
    context = make_context(redis_conn, slack_api, slack_signing_secret=None)
    client = create_app(context, token_book()).test_client()
    payload = block_actions("p-x", "approve", ALICE, slack_api.response_url())
    assert press(client, SIGNING, payload).status_code == 404


def test_an_unknown_slack_user_is_refused_and_recorded(world) -> None:
    context = world["context"]
    park(context, "p-who")
    answer = click(world, "p-who", user=MALLORY)
    assert answer.status_code == 200 and answer.headers["X-Aiops-Outcome"] == "refused"
    assert context.proposals.get("p-who").status == "pending"
    refused = [e for e in context.records.get("r-who")["entries"] if e["kind"] == "slack_action"]
    assert refused[0]["data"]["slack_user"] == MALLORY and refused[0]["data"]["outcome"] == "refused"
    assert "not mapped to an approver" in refused[0]["data"]["detail"]
    work(context)
    (note,) = hooks(world["slack"])
    assert note["replace_original"] is False and note["response_type"] == "ephemeral"  # buttons stay


def test_reject_needs_a_reason_from_the_comment_field(world) -> None:
    context = world["context"]
    park(context, "p-rej")
    assert click(world, "p-rej", "reject").headers["X-Aiops-Outcome"] == "refused"
    assert context.proposals.get("p-rej").status == "pending"
    assert click(world, "p-rej", "reject", note="wrong image").headers["X-Aiops-Outcome"] == "rejected"
    rejected = context.proposals.get("p-rej")
    assert (
        rejected.status == "rejected" and rejected.comment == "wrong image" and rejected.decided_by == "alice"
    )


def test_buttons_are_single_use_and_dead_once_decided_elsewhere(world) -> None:
    context = world["context"]
    park(context, "p-api")
    api = world["client"].post(
        "/api/v1/approvals/p-api/reject", json={"reason": "no"}, headers=auth("approver")
    )
    assert api.status_code == 200
    assert click(world, "p-api").headers["X-Aiops-Outcome"] == "refused"
    assert context.proposals.get("p-api").status == "rejected"
    kinds = context.records.kinds("r-api")
    assert kinds.count("approval") == 1 and "execution_started" not in kinds
    work(context)
    (update,) = hooks(world["slack"])
    assert update[
        "replace_original"
    ] is True and "rejected (decided by approver-user), no longer pending" in str(update["blocks"])


def test_an_expired_proposal_cannot_be_approved_from_slack(world) -> None:
    context = world["context"]
    park(context, "p-old", expires_in=-5)
    assert click(world, "p-old").headers["X-Aiops-Outcome"] == "refused"
    assert context.proposals.get("p-old").status == "expired"
    assert "approval" not in context.records.kinds("r-old")


def test_racing_slack_and_api_approvals_have_exactly_one_winner(redis_conn, slack_api) -> None:
    context = make_context(redis_conn, slack_api)
    park(context, "p-race")
    outcomes: list[str] = []
    with ServedApp(create_app(context, token_book())) as served:

        def from_slack() -> None:
            with httpx.Client(base_url=served.url) as client:
                payload = block_actions("p-race", "approve", ALICE, slack_api.response_url())
                outcomes.append(press(client, SIGNING, payload).headers["X-Aiops-Outcome"])

        def from_api() -> None:
            answer = httpx.post(
                f"{served.url}/api/v1/approvals/p-race/approve", json={}, headers=auth("approver")
            )
            outcomes.append({200: "approved", 409: "refused"}[answer.status_code])

        threads = [threading.Thread(target=fn) for fn in (from_slack, from_api) * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(outcomes) == ["approved"] + ["refused"] * 7
    assert context.records.kinds("r-race").count("approval") == 1
