"""``POST /integrations/slack/actions``: Slack's interactivity requests (the Approve / Reject buttons).

Slack signs every request: ``X-Slack-Signature`` is ``v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">``
keyed with the app's signing secret, and ``X-Slack-Request-Timestamp`` must be within five minutes of
now (a replay is refused). ``slack-sdk``'s verifier checks both in constant time, on our clock.

Slack wants an answer within 3 seconds. The decision is one compare-and-set in Redis plus an enqueue,
so it is made here, synchronously, through the same ``lifecycle.approve``/``reject`` as the API: single
use, refused once the proposal is not pending (decided, expired, superseded), and the execution
re-checks the plan's guard. Only the message update (an outbound call to Slack's ``response_url``) is
left to a job. The Slack user must be listed in ``notify.slack_users``: that mapping is the identity
recorded as ``decided_by``; anybody else is refused, and the refusal is recorded.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Response, request
from slack_sdk.signature import Clock, SignatureVerifier

from receiver.errors import InvalidPayload, NotFoundError, Unauthorized
from receiver.request_scope import context
from workers.domain import Proposal
from workers.errors import Conflict, NotFound
from workers.integrations.notify import slack
from workers.integrations.notify.sinks import ui_link
from workers.spine import queues
from workers.spine.context import Context
from workers.spine.lifecycle import approve, reject

log = logging.getLogger("aiops.slack")
blueprint = Blueprint("slack", __name__, url_prefix="/integrations/slack")

OUTCOME_HEADER = "X-Aiops-Outcome"
NOTE_LIMIT = 2000
UPDATE_OPTIONS: dict[str, Any] = {"job_timeout": 60, "result_ttl": 3600, "failure_ttl": 86400}


class _ContextClock(Clock):
    """slack-sdk's clock, read from the context's (a test's fixed clock holds for signatures too)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def now(self) -> float:
        return self.ctx.clock().timestamp()


def _verified_body(ctx: Context) -> bytes:
    secret = ctx.settings.notify.slack_signing_secret
    if secret is None:
        raise NotFoundError("Slack interactivity is not configured (notify.slack_signing_secret)")
    body = request.get_data(cache=True)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature")
    verifier = SignatureVerifier(secret.get_secret_value(), clock=_ContextClock(ctx))
    if not timestamp.isdigit() or not verifier.is_valid(body, timestamp, signature):
        log.warning("slack: refused a request with a bad or stale signature")
        raise Unauthorized("bad or stale Slack signature (X-Slack-Signature, X-Slack-Request-Timestamp)")
    return body


def _payload(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=False)
        payload = json.loads(form["payload"][0])
    except (UnicodeDecodeError, KeyError, IndexError, ValueError) as exc:
        raise InvalidPayload("body must be Slack's form-encoded `payload` JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be a JSON object")
    return payload


def _note(payload: dict[str, Any]) -> str | None:
    values = ((payload.get("state") or {}).get("values") or {}).get(slack.NOTE_BLOCK) or {}
    value = (values.get(slack.NOTE_ACTION) or {}).get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:NOTE_LIMIT]


def _ack(outcome: str) -> Response:
    response = Response(status=200)
    response.headers[OUTCOME_HEADER] = outcome
    return response


@blueprint.post("/actions")
def actions() -> Response:
    ctx = context()
    payload = _payload(_verified_body(ctx))
    if payload.get("type") != "block_actions":
        return _ack("ignored")
    clicked = (payload.get("actions") or [{}])[0]
    action_id = clicked.get("action_id")
    if action_id not in (slack.ACTION_APPROVE, slack.ACTION_REJECT):
        return _ack("ignored")  # the Open button is a link; Slack still tells us it was pressed
    proposal_id = str(clicked.get("value") or "")
    user = payload.get("user") or {}
    decision = Click(ctx, payload, proposal_id, str(user.get("id") or ""), str(user.get("username") or ""))
    return _ack(decision.run(action_id, _note(payload)))


class Click:
    """One press of Approve or Reject: who pressed it, on which proposal, and what came of it."""

    def __init__(self, ctx: Context, payload: dict[str, Any], proposal_id: str, user: str, name: str) -> None:
        self.ctx, self.payload, self.proposal_id = ctx, payload, proposal_id
        self.user, self.name = user, name
        self.identity = ctx.settings.notify.slack_users.get(user) if user else None

    def run(self, action_id: str, note: str | None) -> str:
        try:
            proposal: Proposal | None = self.ctx.proposals.get(self.proposal_id)
        except NotFound:
            proposal = None
        if proposal is None:
            return self._refused(None, f"no proposal {self.proposal_id}", replace=True)
        if self.identity is None:
            return self._refused(
                proposal,
                f"Slack user {self.user or '(none)'} is not mapped to an approver (notify.slack_users)",
            )
        if action_id == slack.ACTION_REJECT and note is None:
            return self._refused(
                proposal, "type a reason in the field above, then press Reject", record=False
            )
        try:
            if action_id == slack.ACTION_APPROVE:
                decided = approve(self.ctx, proposal.id, self.identity, note)
            else:
                decided = reject(self.ctx, proposal.id, self.identity, note)
        except (Conflict, NotFound):
            current = self._current(proposal)
            by = f" (decided by {current.decided_by})" if current.decided_by else ""
            return self._refused(
                current, f"the proposal is {current.status}{by}, no longer pending", replace=True
            )
        outcome = "approved" if action_id == slack.ACTION_APPROVE else "rejected"
        detail = f"by {self.identity} (Slack user {self.user})" + (f": {note}" if note else "")
        self._record(decided, outcome, detail)
        self._update(slack.outcome_message(decided, outcome, detail, self._link(decided)), replace=True)
        return outcome

    def _current(self, proposal: Proposal) -> Proposal:
        try:
            return self.ctx.proposals.get(proposal.id)
        except NotFound:
            return proposal

    def _link(self, proposal: Proposal) -> str | None:
        public_url = self.ctx.settings.notify.public_url
        return ui_link(public_url, f"/ui/approvals/{proposal.id}") if public_url else None

    def _refused(
        self, proposal: Proposal | None, reason: str, replace: bool = False, record: bool = True
    ) -> str:
        log.warning("slack: %s refused for %s: %s", self.proposal_id, self.user, reason)
        if proposal is not None and record:
            self._record(proposal, "refused", reason)
        link = self._link(proposal) if proposal is not None else None
        # A stale button (the proposal moved on) is replaced for everyone; a personal refusal is shown
        # to the clicker alone and leaves the buttons for an approver.
        self._update(slack.outcome_message(proposal, "refused", reason, link), replace=replace)
        return "refused"

    def _record(self, proposal: Proposal, outcome: str, detail: str) -> None:
        self.ctx.records.append(
            proposal.record_id,
            "slack_action",
            {
                "proposal_id": proposal.id,
                "outcome": outcome,
                "detail": detail,
                "slack_user": self.user,
                "slack_user_name": self.name,
                "team": (self.payload.get("team") or {}).get("id"),
                "identity": self.identity,
            },
        )

    def _update(self, message: dict[str, Any], replace: bool) -> None:
        url = self.payload.get("response_url")
        settings = self.ctx.settings.notify
        if not isinstance(url, str) or not slack.trusted_response_url(url, settings.slack_api_url):
            return
        queues.queue(queues.ACTIONS, self.ctx.redis).enqueue_call(
            slack.respond_job,
            args=(url, message, settings.slack_timeout_s, replace),
            **queues.rq_options(UPDATE_OPTIONS),
        )
