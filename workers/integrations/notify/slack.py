"""The Slack sink: a proposal as a Block Kit message with Approve / Reject / Open, posted with ``slack-sdk``.

The message shows what an approver decides on, top to bottom: the diagnosis summary, the change (the
exact patch), the risk and the expiry, a comment field, then the buttons. The buttons carry only the
proposal id; the receiver (``receiver/slack.py``) verifies Slack's signature, maps the Slack user to an
approver and decides through the same path as the API, so a button is worth nothing once the proposal
is no longer pending. After a decision the message is replaced by its outcome (``outcome_message``),
through the interaction's ``response_url`` (``respond``), so that no stale button stays behind.

Every text from an alert, a diagnosis or a patch is escaped for mrkdwn (``&``, ``<``, ``>``): an
alert label cannot mention ``@channel`` or forge a link. Texts are cut to Slack's documented limits
(``LIMITS``), so a long diagnosis never makes Slack refuse the message.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from workers.domain import Proposal, ProposalStatus
from workers.settings import NotifySettings

log = logging.getLogger("aiops.notify")

# Slack's documented Block Kit limits (docs.slack.dev, "Block Kit" reference): what we stay within.
LIMITS = {
    "blocks_per_message": 50,
    "header_text": 150,
    "section_text": 3000,
    "section_fields": 10,
    "field_text": 2000,
    "actions_elements": 25,
    "context_elements": 10,
    "button_text": 75,
    "button_value": 2000,
    "button_url": 3000,
    "action_id": 255,
    "block_id": 255,
    "confirm_title": 100,
    "confirm_text": 300,
    "confirm_button": 30,
    "input_label": 2000,
    "placeholder": 150,
    "message_text": 40000,
}
ACTION_APPROVE, ACTION_REJECT, ACTION_OPEN = "approve", "reject", "open"
DECISION_BLOCK, NOTE_BLOCK, NOTE_ACTION = "decision", "note", "note"
HOOKS_HOST = "hooks.slack.com"
MORE = "…"


def escape(text: object) -> str:
    """``text`` safe for mrkdwn: Slack's three control characters escaped as it documents."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - len(MORE)] + MORE


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, LIMITS["section_text"])}}


def _code(text: str, limit: int) -> str:
    """A code block within ``limit`` characters (fences included), cut inside the fence."""
    body = text.replace("```", "'''")
    return "```" + cut(body, limit - 6) + "```"


def _when(iso_time: str | None) -> str:
    """Slack's date formatting (each reader's own time zone), with the UTC time as the fallback text."""
    if not iso_time:
        return "unknown"
    try:
        stamp = int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return escape(iso_time)
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{escape(iso_time)}>"


def _subject(proposal: Proposal) -> str:
    target = proposal.target
    return f"{target.get('kind')} {target.get('namespace')}/{target.get('name')}"


def _change(proposal: Proposal) -> str:
    action = proposal.action or {}
    plan = action.get("plan") or {}
    kind = action.get("type", "none")
    if not plan:
        reason = (action.get("not_possible") or {}).get("reason")
        text = f"*The change*: none proposed ({escape(kind)})"
        return text + (f": {escape(reason)}" if reason else "; see the runbook")
    head = f"*The change*: `{escape(kind)}`: {escape(plan.get('verb'))} {escape(plan.get('kind'))} "
    head += f"{escape(plan.get('namespace'))}/{escape(plan.get('name'))}"
    if plan.get("summary"):
        head += f" ({escape(plan['summary'])})"
    patch = plan.get("patch")
    if patch is None:
        return head
    shown = json.dumps(patch, indent=1, sort_keys=True, default=str)
    return head + "\n" + _code(escape(shown), LIMITS["section_text"] - len(head) - 1)


def _diagnosis(proposal: Proposal, event: str) -> str:
    diagnosis = proposal.diagnosis or {}
    lines = [f"*{escape(event.capitalize())}*"]
    if diagnosis.get("summary"):
        lines.append(f"*Diagnosis*: {escape(diagnosis['summary'])}")
    root = diagnosis.get("root_cause") or diagnosis.get("category")
    if root:
        lines.append(f"*Root cause*: {escape(root)}")
    if proposal.expected_outcome:
        lines.append(f"*Expected outcome*: {escape(proposal.expected_outcome)}")
    return "\n".join(lines)


def _fields(proposal: Proposal) -> dict[str, Any]:
    diagnosis = proposal.diagnosis or {}
    values = [
        ("Risk", escape(proposal.risk)),
        ("Expires", _when(proposal.expires_at)),
        ("Status", escape(proposal.status)),
        ("Workflow", escape(proposal.playbook)),
        ("Rule", escape(proposal.rule)),
    ]
    if diagnosis.get("confidence") is not None:
        values.append(("Confidence", escape(diagnosis["confidence"])))
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": cut(f"*{name}*\n{value}", LIMITS["field_text"])}
            for name, value in values[: LIMITS["section_fields"]]
        ],
    }


def _buttons(proposal: Proposal, link: str | None) -> dict[str, Any]:
    subject = cut(_subject(proposal), 120)
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": ACTION_APPROVE,
            "text": _plain("Approve", LIMITS["button_text"]),
            "style": "primary",
            "value": proposal.id,
            "confirm": {
                "title": _plain("Approve this change?", LIMITS["confirm_title"]),
                "text": _plain(
                    f"{proposal.action.get('type', 'none')} on {subject} (risk {proposal.risk}) runs "
                    "against the cluster once approved.",
                    LIMITS["confirm_text"],
                ),
                "confirm": _plain("Approve", LIMITS["confirm_button"]),
                "deny": _plain("Cancel", LIMITS["confirm_button"]),
            },
        },
        {
            "type": "button",
            "action_id": ACTION_REJECT,
            "text": _plain("Reject", LIMITS["button_text"]),
            "style": "danger",
            "value": proposal.id,
        },
    ]
    if link:
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_OPEN,
                "text": _plain("Open", LIMITS["button_text"]),
                "url": link,
                "value": proposal.id,
            }
        )
    return {"type": "actions", "block_id": DECISION_BLOCK, "elements": elements}


def _note_input() -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": NOTE_BLOCK,
        "optional": True,
        "label": _plain("Comment (approve) or reason (reject)", LIMITS["input_label"]),
        "element": {
            "type": "plain_text_input",
            "action_id": NOTE_ACTION,
            "placeholder": _plain("Why you decide so; kept in the audit record", LIMITS["placeholder"]),
        },
    }


def _context(proposal: Proposal, text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": cut(f"proposal `{escape(proposal.id)}` · {text}", 3000)},
        ],
    }


def proposal_message(proposal: Proposal, event: str, link: str | None) -> dict[str, Any]:
    """``{"text", "blocks"}`` for ``proposal``: buttons only while it is pending and waits for a person (an
    auto-approved one has none); ``link`` (absolute) or None when no public URL is set (Slack refuses a
    relative one, so there is no Open button then)."""
    header = f"{event}: {proposal.action.get('type', 'none')} on {_subject(proposal)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(header, LIMITS["header_text"])},
        _section(_diagnosis(proposal, event)),
        _fields(proposal),
        _section(_change(proposal)),
    ]
    if proposal.status == ProposalStatus.pending and proposal.approval == "auto":
        note = "approved automatically: the rule allows this low-risk action" + (
            f" · <{link}|open>" if link else ""
        )
    elif proposal.status == ProposalStatus.pending:
        blocks += [_note_input(), _buttons(proposal, link)]
        note = f"the buttons work while it is pending, until {_when(proposal.expires_at)}"
    else:
        note = f"status {escape(proposal.status)}" + (f" · <{link}|open>" if link else "")
    if not link:
        note += " · no Open link: notify.public_url is not set"
    blocks.append(_context(proposal, note))
    text = cut(f"[aiops] {header} (risk {proposal.risk})", LIMITS["message_text"])
    return {"text": text, "blocks": blocks[: LIMITS["blocks_per_message"]]}


OUTCOME_WORDS = {
    "approved": ":white_check_mark: Approved",
    "rejected": ":x: Rejected",
    "refused": ":no_entry: Not decided",
}


def outcome_message(proposal: Proposal | None, outcome: str, detail: str, link: str | None) -> dict[str, Any]:
    """The message that replaces the buttons after a click: the outcome and who decided, no buttons."""
    words = OUTCOME_WORDS.get(outcome, escape(outcome))
    lines = f"*{words}*: {escape(detail)}"
    if proposal is None:
        return {"text": cut(f"[aiops] {outcome}: {detail}", 3000), "blocks": [_section(lines)]}
    header = f"{proposal.action.get('type', 'none')} on {_subject(proposal)}"
    blocks = [
        {"type": "header", "text": _plain(header, LIMITS["header_text"])},
        _section(lines),
        _fields(proposal),
        _section(_change(proposal)),
        _context(proposal, f"status {escape(proposal.status)}" + (f" · <{link}|open>" if link else "")),
    ]
    return {"text": cut(f"[aiops] {outcome}: {header}", LIMITS["message_text"]), "blocks": blocks}


def text_message(body: dict[str, Any]) -> dict[str, Any]:
    """A notification that is not about a pending proposal (a report, an escalation): its text."""
    text = str(body.get("text") or body.get("event") or "")
    return {"text": cut(text, LIMITS["message_text"]), "blocks": [_section(escape(text))]}


def _client(settings: NotifySettings) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=max(1, int(settings.slack_timeout_s))
    )


def post(settings: NotifySettings, message: dict[str, Any]) -> dict[str, Any]:
    """``chat.postMessage`` to ``slack_channel``; the outcome for the record, never an exception."""
    outcome: dict[str, Any] = {"sink": "slack", "channel": settings.slack_channel}
    try:
        answer = _client(settings).chat_postMessage(
            channel=str(settings.slack_channel), text=message["text"], blocks=message["blocks"]
        )
    except SlackApiError as exc:
        outcome.update({"ok": False, "error": str(exc.response.get("error") or exc)})
    except (SlackClientError, OSError, ValueError) as exc:
        outcome.update({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    else:
        outcome.update({"ok": True, "ts": answer.get("ts"), "channel_id": answer.get("channel")})
    if not outcome["ok"]:
        log.warning("notify: slack post to %s failed: %s", settings.slack_channel, outcome["error"])
    return outcome


def trusted_response_url(url: str, api_url: str) -> bool:
    """Slack's ``response_url`` (https on hooks.slack.com), or one on the host of ``slack_api_url`` (a
    stand-in): nothing else is ever posted to, whatever a payload says."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if parts.scheme == "https" and parts.hostname == HOOKS_HOST:
        return True
    return (parts.scheme, parts.netloc) == (api.scheme, api.netloc) and bool(parts.netloc)


def respond(response_url: str, message: dict[str, Any], timeout_s: float, replace: bool = True) -> bool:
    """Replace the clicked message (``replace``) or answer the clicker alone, through ``response_url``."""
    body = {**message, "replace_original": replace}
    if not replace:
        body["response_type"] = "ephemeral"
    try:
        answer = httpx.post(response_url, json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        log.warning("notify: slack response_url failed: %s", exc)
        return False
    if not answer.is_success:
        log.warning("notify: slack response_url answered %s", answer.status_code)
    return answer.is_success


def respond_job(response_url: str, message: dict[str, Any], timeout_s: float, replace: bool = True) -> bool:
    """RQ job: ``respond`` after the interactivity endpoint has already answered Slack (within 3 s)."""
    return respond(response_url, message, timeout_s, replace)
