"""Helpers for tests of the receiver's API: tokens of each role, their headers, alerts, webhooks."""

from __future__ import annotations

from datetime import UTC, datetime

from receiver.auth import TokenBook
from receiver.payload import alertmanager_payload
from tests.support.pipeline import crash_alert
from workers.clock import expiry_after, iso
from workers.domain import Proposal

TOKENS = {
    "approver": "approver-secret-token-1",
    "viewer": "viewer-secret-token-0001",
    "webhook": "webhook-secret-token-001",
}


def token_book() -> TokenBook:
    return TokenBook(
        [{"name": f"{role}-user", "role": role, "token": token} for role, token in TOKENS.items()]
    )


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def alert(
    pod: str = "checkout-7d9f-abcde",
    status: str = "firing",
    starts: str = "2026-11-25T10:00:00Z",
    alertname: str = "KubePodCrashLooping",
    fingerprint: str | None = None,
    namespace: str = "shop",
) -> dict:
    return crash_alert(
        pod, namespace, "app", alertname, starts, status, fingerprint or f"fp-{namespace}-{pod}"
    )


def webhook(*alerts: dict) -> dict:
    return alertmanager_payload(list(alerts))


def park(context, pid="p-0001", expires_in=3600, fingerprint="fp-1") -> Proposal:
    now = datetime.now(UTC)
    proposal = Proposal(
        id=pid,
        rule="pod-crashloop",
        playbook="pod-failure",
        alert={"fingerprint": fingerprint, "labels": {"alertname": "KubePodCrashLooping"}},
        target={"kind": "Pod", "namespace": "shop", "name": "web-1"},
        diagnosis={"category": "bad_config", "summary": "missing env var"},
        action={"type": "rollback-deployment", "params": {}, "plan": None},
        created_at=iso(now),
        expires_at=expiry_after(now, expires_in),
        record_id="r-" + pid[2:],
    )
    context.records.open(proposal.record_id, {"rule": proposal.rule})
    context.records.append(proposal.record_id, "proposal", {"proposal_id": pid})
    return context.proposals.create(proposal)[0]
