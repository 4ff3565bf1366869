"""Notifications: tell people a proposal waits for them (or what became of it).

Sinks are a JSON log line, an HTTP webhook (Slack-compatible ``text`` plus the structured fields, signed
and retried: ``webhook``) and Slack (a Block Kit message with buttons: ``slack``, on when
``notify.slack_bot_token`` and ``notify.slack_channel`` are set). A failing sink is recorded, never raised:
notification must not block the approval queue.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from workers.domain import Proposal, Report
from workers.integrations.notify import slack, webhook
from workers.settings import NotifySettings

log = logging.getLogger("aiops.notify")


def ui_link(public_url: str | None, path: str) -> str:
    """``path`` under the configured public URL; the bare path (relative) when none is configured."""
    return f"{public_url.rstrip('/')}{path}" if public_url else path


def message(proposal: Proposal, event: str, public_url: str | None) -> dict[str, Any]:
    link = ui_link(public_url, f"/ui/approvals/{proposal.id}")
    # Without a public URL nobody can know the receiver's address from here: say so instead of guessing.
    where = link if public_url else f"{link} on the receiver (notify.public_url is not set)"
    target = proposal.target
    summary = (proposal.diagnosis or {}).get("summary") or ""
    action = (proposal.action or {}).get("type", "none")
    text = (
        f"[aiops] {event}: {target.get('kind')} {target.get('namespace')}/{target.get('name')} — {summary} "
        f"Proposed: {action} (risk {proposal.risk}). {where}"
    )
    return {
        "event": event,
        "text": text,
        "proposal_id": proposal.id,
        "status": proposal.status,
        "link": link,
        "link_is_relative": not public_url,
        "record_link": ui_link(public_url, f"/ui/records/{proposal.record_id}"),
        "target": target,
        "action": action,
        "risk": proposal.risk,
        "record_id": proposal.record_id,
    }


def notify(settings: NotifySettings, proposal: Proposal, event: str) -> list[dict[str, Any]]:
    """Send to every sink; returns one outcome per sink for the audit record."""
    body = message(proposal, event, settings.public_url)
    link = body["link"] if settings.public_url else None
    return deliver(settings, body, slack.proposal_message(proposal, event, link))


# --- reports (US5, US6): a stored report, with a link to it -------------------------------------------


def report_message(report: Report, public_url: str | None) -> dict[str, Any]:
    """The notification for a stored report: its score, its worst findings and a link to it."""
    link = ui_link(public_url, f"/ui/reports/{report.id}")
    where = link if public_url else f"{link} on the receiver (notify.public_url is not set)"
    findings = report.findings()
    counts = {level: sum(1 for f in findings if f.severity == level) for level in ("critical", "high")}
    score = report.score if report.score is not None else "n/a"
    text = (
        f"[aiops] {report.kind} report {report.id}: score {score}"
        f" ({report.grade or '-'}), {counts['critical']} critical and {counts['high']} high findings. {where}"
    )
    return {
        "event": "report_stored",
        "text": text,
        "report_id": report.id,
        "kind": report.kind,
        "score": report.score,
        "grade": report.grade,
        "findings": counts,
        "link": link,
        "link_is_relative": not public_url,
        "record_id": report.record_id,
    }


def deliver(
    settings: NotifySettings, body: dict[str, Any], slack_message: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Send ``body`` to every sink (Slack gets ``slack_message``, else ``body``'s text); one outcome per
    sink, a failing sink recorded, never raised."""
    outcomes: list[dict[str, Any]] = []
    default_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    for sink in settings.sinks:
        if sink.type == "log":
            log.info(json.dumps(body, default=str))
            outcomes.append({"sink": "log", "ok": True})
            continue
        outcomes.append(_guarded("webhook", functools.partial(webhook.post, sink, body, default_secret)))
    if settings.slack_enabled:
        message = slack_message or slack.text_message(body)
        outcomes.append(_guarded("slack", functools.partial(slack.post, settings, message)))
    return outcomes


def _guarded(kind: str, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``send()``'s outcome; an error nobody foresaw becomes a failed outcome too, never the caller's."""
    try:
        return send()
    except Exception as exc:  # a sink must never fail the proposal it announces
        log.exception("notify: the %s sink failed", kind)
        return {"sink": kind, "ok": False, "error": f"{type(exc).__name__}: {exc}"}


def escalation_message(report: Report, public_url: str | None) -> dict[str, Any] | None:
    """The at-once notification of a report's new critical findings (``changes["new_critical"]``), each
    with its escalation text and the report's link; None when there are none."""
    found = list(report.changes.get("new_critical") or [])
    if not found:
        return None
    link = ui_link(public_url, f"/ui/reports/{report.id}")
    where = link if public_url else f"{link} on the receiver (notify.public_url is not set)"
    event = f"escalation: {len(found)} new critical finding(s)"
    lines = [str(item.get("escalation") or item.get("message") or item.get("check")) for item in found]
    text = f"[aiops] {event} in {report.kind} report {report.id}:\n" + "\n".join(
        f"- {line}" for line in lines
    )
    return {
        "event": event,
        "text": f"{text}\n{where}",
        "report_id": report.id,
        "kind": report.kind,
        "findings": [
            {
                "check": item.get("check"),
                "namespace": item.get("namespace"),
                "kind": item.get("kind"),
                "name": item.get("name"),
                "escalation": line,
            }
            for item, line in zip(found, lines, strict=True)
        ],
        "link": link,
        "link_is_relative": not public_url,
        "record_id": report.record_id,
    }
