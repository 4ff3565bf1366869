"""The whole loop decided from Slack, then audited: an alert on the sandbox parks a proposal, the Slack
stand-in receives its Block Kit message, Approve is pressed (signed like Slack), the rollback runs and is
validated, and ``aiops audit compliance`` finds the record complete. The same record with an entry removed,
or with its approval moved after the change, makes the command exit 1 and name what is wrong."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from receiver.cli import main
from tests.integration.pipeline.test_core_loop import crashing_pod
from tests.standins.slack import SlackStandin, block_actions, press
from tests.support.pipeline import crash_alert
from workers.spine.records import PREFIX

SIGNING = "slack-signing-secret-000000000001"


@pytest.fixture
def slack_api():
    with SlackStandin() as standin:
        yield standin


def audit(capsys, *extra: str) -> tuple[int, dict]:
    code = main(["audit", "compliance", "--since", "1h", *extra])
    out = capsys.readouterr().out
    return code, (json.loads(out) if "--format" not in extra else {"text": out})


def test_slack_approval_then_a_compliant_record_then_tampering_is_found(
    pipeline, slack_api, redis_server, monkeypatch, capsys
) -> None:
    notify = pipeline.context.settings.notify
    notify.slack_bot_token = SecretStr(slack_api.token)
    notify.slack_channel = "C0APPROVALS"
    notify.slack_signing_secret = SecretStr(SIGNING)
    notify.slack_users = {"U0ALICE": "alice"}
    notify.slack_api_url = slack_api.api_url

    pipeline.post_alerts(crash_alert(crashing_pod(pipeline)))
    proposal = pipeline.work(until=lambda: pipeline.proposals("pending"))[0]
    (posted,) = slack_api.posted()
    assert "rollback-deployment" in posted.body["text"]
    record = pipeline.context.records.get(proposal.record_id)
    sent = next(e for e in record["entries"] if e["kind"] == "notification")["data"]["sinks"]
    assert sent[-1]["sink"] == "slack" and sent[-1]["ok"] is True, sent

    payload = block_actions(proposal.id, "approve", "U0ALICE", slack_api.response_url(), "roll back")
    assert press(pipeline.client, SIGNING, payload).headers["X-Aiops-Outcome"] == "approved"
    pipeline.work(
        until=lambda: (
            pipeline.context.proposals.get(proposal.id).status in {"validated", "regressed", "failed"}
        ),
        timeout=60,
    )
    done = pipeline.context.proposals.get(proposal.id)
    assert done.status == "validated" and done.decided_by == "alice"
    assert any(call.method.startswith("hooks/") for call in slack_api.calls)  # the message was replaced

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    code, result = audit(capsys)
    assert code == 0, result
    assert result["compliant"] is True and result["medium_high_documented_percent"] == 100.0
    (documented,) = result["documented"]
    assert documented["proposal_id"] == proposal.id and documented["approved_by"] == "alice"

    key = PREFIX + proposal.record_id
    raw = pipeline.context.redis.lrange(key, 0, -1)
    kinds = [json.loads(item)["kind"] for item in raw]

    # An entry removed: the dry run.
    dry_run = raw[kinds.index("dry_run")]
    pipeline.context.redis.lrem(key, 1, dry_run)
    code, result = audit(capsys)
    assert code == 1 and result["compliant"] is False
    (gap,) = result["incomplete"]
    assert gap["proposal_id"] == proposal.id and gap["missing"] == ["a server-side dry run"]
    pipeline.context.redis.linsert(key, "BEFORE", raw[kinds.index("snapshot")], dry_run)
    assert audit(capsys)[0] == 0

    # Entries out of order: the approval moved after the change was applied.
    approval = raw[kinds.index("approval")]
    pipeline.context.redis.lrem(key, 1, approval)
    pipeline.context.redis.linsert(key, "AFTER", raw[kinds.index("applied")], approval)
    code, page = audit(capsys, "--format", "md")
    assert code == 1
    assert "NOT compliant: 1 incomplete" in page["text"] and "comes after the execution began" in page["text"]
