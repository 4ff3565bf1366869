"""The Slack message of a proposal: what an approver sees, within Slack's documented Block Kit limits, with
buttons only while it is pending and nothing from an alert able to mention a channel or forge a link."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.standins.slack import validate_blocks
from workers.clock import expiry_after, iso
from workers.domain import Proposal
from workers.integrations.notify import slack

LINK = "https://aiops.example.org/ui/approvals/p-1"


def proposal(**changes) -> Proposal:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    fields = {
        "id": "p-1",
        "rule": "pod-crashloop",
        "playbook": "pod-failure",
        "alert": {},
        "target": {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
        "diagnosis": {"summary": "DATABASE_URL is not set", "category": "bad_config", "confidence": 0.9},
        "action": {
            "type": "rollback-deployment",
            "plan": {
                "verb": "patch",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "checkout",
                "patch": [{"op": "replace", "path": "/spec/template", "value": {"image": "shop:1.4.2"}}],
                "summary": "back to revision 2",
            },
        },
        "risk": "medium",
        "expected_outcome": "pods Ready on the previous image",
        "created_at": iso(now),
        "expires_at": expiry_after(now, 3600),
        "record_id": "r-1",
    }
    fields.update(changes)
    return Proposal(**fields)


def texts(message) -> str:
    return "\n".join(str(block) for block in message["blocks"])


def test_pending_proposal_shows_diagnosis_change_risk_expiry_and_three_buttons() -> None:
    message = slack.proposal_message(proposal(), "proposal pending", LINK)
    assert validate_blocks(message["blocks"]) == []
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds[0] == "header" and "input" in kinds and kinds[-2] == "actions"
    shown = texts(message)
    assert "DATABASE_URL is not set" in shown and "bad_config" in shown
    assert "/spec/template" in shown and "back to revision 2" in shown
    assert "*Risk*\\nmedium" in shown and "<!date^" in shown  # expiry in each reader's time zone
    buttons = message["blocks"][-2]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve", "reject", "open"]
    assert buttons[0]["value"] == buttons[1]["value"] == "p-1" and buttons[2]["url"] == LINK
    assert buttons[0]["style"] == "primary" and buttons[1]["style"] == "danger" and buttons[0]["confirm"]


def test_no_buttons_once_the_proposal_is_not_pending() -> None:
    message = slack.proposal_message(proposal(status="approved"), "action failed", LINK)
    assert validate_blocks(message["blocks"]) == []
    assert not [block for block in message["blocks"] if block["type"] in ("actions", "input")]
    assert "status approved" in texts(message)


def test_an_auto_approved_proposal_has_no_buttons() -> None:
    message = slack.proposal_message(proposal(approval="auto", risk="low"), "proposal pending", LINK)
    assert validate_blocks(message["blocks"]) == []
    assert not [block for block in message["blocks"] if block["type"] in ("actions", "input")]
    assert "approved automatically" in texts(message)


def test_without_a_public_url_there_is_no_open_button_and_the_message_says_why() -> None:
    message = slack.proposal_message(proposal(), "proposal pending", None)
    assert validate_blocks(message["blocks"]) == []
    buttons = message["blocks"][-2]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve", "reject"]
    assert "notify.public_url is not set" in texts(message)


def test_huge_texts_are_cut_to_slacks_limits() -> None:
    huge = {"summary": "x" * 10_000, "root_cause": "y" * 5000}
    patch = [{"op": "add", "path": f"/spec/{n}", "value": "z" * 200} for n in range(200)]
    big = proposal(
        diagnosis=huge,
        target={"kind": "Deployment", "namespace": "n" * 300, "name": "m" * 300},
        action={
            "type": "rollback-deployment",
            "plan": {"verb": "patch", "kind": "Deployment", "patch": patch},
        },
        expected_outcome="w" * 4000,
    )
    message = slack.proposal_message(big, "proposal pending", LINK)
    assert validate_blocks(message["blocks"]) == []
    assert "…" in texts(message)
    outcome = slack.outcome_message(big, "approved", "by alice: " + "c" * 5000, LINK)
    assert validate_blocks(outcome["blocks"]) == []


def test_alert_text_cannot_mention_a_channel_or_forge_a_link() -> None:
    hostile = proposal(diagnosis={"summary": "<!channel> see <https://evil.example|the fix> & more"})
    shown = texts(slack.proposal_message(hostile, "proposal pending", LINK))
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown and "&amp; more" in shown


def test_outcome_message_replaces_the_buttons() -> None:
    message = slack.outcome_message(proposal(status="approved"), "approved", "by alice (Slack user U1)", LINK)
    assert validate_blocks(message["blocks"]) == []
    assert not [block for block in message["blocks"] if block["type"] == "actions"]
    assert "Approved" in texts(message) and "by alice" in texts(message)


def test_only_slack_or_the_configured_api_host_are_trusted_response_urls() -> None:
    api = "http://127.0.0.1:5555/api/"
    assert slack.trusted_response_url("https://hooks.slack.com/actions/T1/B1/x", "https://slack.com/api/")
    assert slack.trusted_response_url("http://127.0.0.1:5555/hooks/x", api)
    assert not slack.trusted_response_url("http://127.0.0.1:6666/hooks/x", api)
    assert not slack.trusted_response_url("http://hooks.slack.com/actions/x", "https://slack.com/api/")
    assert not slack.trusted_response_url("https://hooks.slack.com.evil.example/x", "https://slack.com/api/")
