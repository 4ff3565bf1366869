"""The webhook sink's signature: HMAC-SHA256 over ``v1:{timestamp}:{body}``, checked in constant time with a
replay window, so a receiver can tell our body from a forged or replayed one."""

from __future__ import annotations

import hashlib
import hmac

from workers.integrations.notify import webhook

SECRET = "webhook-signing-secret-0001"
BODY = b'{"event":"proposal pending","proposal_id":"p-1"}'


def test_signature_is_hmac_sha256_of_version_timestamp_and_body() -> None:
    expected = hmac.new(SECRET.encode(), b"v1:1700000000:" + BODY, hashlib.sha256).hexdigest()
    assert webhook.signature(SECRET, "1700000000", BODY) == f"v1={expected}"


def test_verify_accepts_ours_within_the_window_only() -> None:
    offered = webhook.signature(SECRET, "1700000000", BODY)
    assert webhook.verify(SECRET, "1700000000", BODY, offered, now=1700000000 + 299)
    assert not webhook.verify(SECRET, "1700000000", BODY, offered, now=1700000000 + 301)  # replayed later
    assert not webhook.verify(SECRET, "1700000000", BODY + b" ", offered, now=1700000000)  # body changed
    assert not webhook.verify("another-secret-entirely", "1700000000", BODY, offered, now=1700000000)
    assert not webhook.verify(SECRET, "1700000001", BODY, offered, now=1700000000)  # timestamp changed
    assert not webhook.verify(SECRET, "soon", BODY, offered, now=1700000000)
    assert not webhook.verify(SECRET, None, BODY, offered, now=1700000000)
    assert not webhook.verify(SECRET, "1700000000", BODY, None, now=1700000000)
