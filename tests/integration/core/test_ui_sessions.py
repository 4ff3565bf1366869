"""The web pages' sessions and forms over plain HTTP (Flask's test client, real Redis): the cookie's
attributes, CSRF refusals, who may sign in, sign-out, redirects that stay on the site, and decisions that
go through the lifecycle like the API's."""

from __future__ import annotations

import hashlib

import pytest

from receiver import sessions
from receiver.app import create_app
from receiver.auth import TokenBook
from tests.support.receiver_api import TOKENS, park, token_book
from tests.support.ui_pages import csrf_of, sign_in
from workers.settings import Settings
from workers.spine import queues
from workers.spine.context import Context


def _cookie(response, name: str) -> str:
    found = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def _signed_in_answer(client, token: str):
    form = client.get("/ui/sign-in")
    return client.post("/ui/sign-in", data={"csrf": csrf_of(form.get_data(as_text=True)), "token": token})


def test_the_session_cookie_is_httponly_strict_and_expiring(client, context) -> None:
    form = client.get("/ui/sign-in")
    pre = _cookie(form, sessions.SIGN_IN_COOKIE)
    assert "HttpOnly" in pre and "SameSite=Strict" in pre and "Max-Age=600" in pre
    answer = client.post(
        "/ui/sign-in", data={"csrf": csrf_of(form.get_data(as_text=True)), "token": TOKENS["approver"]}
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/approvals"
    cookie = _cookie(answer, sessions.COOKIE)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={context.settings.auth.session_ttl_s}" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: a Secure cookie would never come back
    session_id = cookie.split(";")[0].split("=", 1)[1]
    key = sessions.PREFIX + hashlib.sha256(session_id.encode()).hexdigest()
    assert 0 < context.redis.ttl(key) <= context.settings.auth.session_ttl_s
    assert session_id.encode() not in b"".join(context.redis.keys("aiops:ui:*"))  # only its digest is stored


def test_the_cookie_is_secure_over_tls_or_behind_an_https_public_url(context, redis_conn) -> None:
    tls = create_app(context, token_book()).test_client()
    form = tls.get("/ui/sign-in", base_url="https://aiops.example.org")
    assert "Secure" in _cookie(form, sessions.SIGN_IN_COOKIE)
    answer = tls.post(
        "/ui/sign-in",
        data={"csrf": csrf_of(form.get_data(as_text=True)), "token": TOKENS["viewer"]},
        base_url="https://aiops.example.org",
    )
    assert "Secure" in _cookie(answer, sessions.COOKIE)
    published = Settings.model_validate(
        {"redis": context.settings.redis.model_dump(), "notify": {"public_url": "https://aiops.example.org"}}
    )
    proxied = create_app(Context(settings=published, redis=redis_conn, rules=context.rules), token_book())
    assert "Secure" in _cookie(_signed_in_answer(proxied.test_client(), TOKENS["viewer"]), sessions.COOKIE)


def test_only_viewer_and_approver_tokens_sign_in(client) -> None:
    for token in (TOKENS["webhook"], "not-a-token-of-anybody", ""):
        answer = _signed_in_answer(client, token)
        assert answer.status_code == 401 and "not accepted" in answer.get_data(as_text=True)
        assert not [c for c in answer.headers.getlist("Set-Cookie") if c.startswith(sessions.COOKIE + "=")]
    assert client.get("/ui/approvals").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(client, context) -> None:
    proposal = park(context)
    csrf = sign_in(client, TOKENS["approver"])
    page = f"/ui/approvals/{proposal.id}"
    for data in ({"comment": "x"}, {"comment": "x", "csrf": ""}, {"comment": "x", "csrf": csrf[:-1] + "A"}):
        refused = client.post(f"{page}/approve", data=data)
        assert refused.status_code == 403 and "CSRF" in refused.get_data(as_text=True)
    assert context.proposals.get(proposal.id).status == "pending"
    assert "approval" not in context.records.kinds(proposal.record_id)
    assert client.post("/ui/sign-out", data={}).status_code == 403
    assert client.get("/ui/approvals").status_code == 200  # still signed in

    # A sign-in form posted without the cookie its page set (another site's form) is refused too.
    stranger = create_app(context, token_book()).test_client()
    forged = stranger.post("/ui/sign-in", data={"csrf": csrf, "token": TOKENS["approver"]})
    assert forged.status_code == 403


def test_decisions_go_through_the_lifecycle_and_redirect_to_the_page(client, context) -> None:
    first, second = park(context, "p-0001", fingerprint="fp-1"), park(context, "p-0002", fingerprint="fp-2")
    csrf = sign_in(client, TOKENS["approver"])
    approved = client.post(f"/ui/approvals/{first.id}/approve", data={"csrf": csrf, "comment": "ok"})
    assert (
        approved.status_code == 303
        and approved.headers["Location"] == f"/ui/approvals/{first.id}?done=approved"
    )
    stored = context.proposals.get(first.id)
    assert (stored.status, stored.decided_by, stored.comment) == ("approved", "approver-user", "ok")
    actions = queues.queue(queues.ACTIONS, context.redis)
    assert f"execute-{first.id}" in actions.job_ids  # queued for execution, as an API approval is
    again = client.post(f"/ui/approvals/{first.id}/reject", data={"csrf": csrf, "reason": "late"})
    assert again.headers["Location"].endswith("?done=conflict")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "no longer pending" in page and 'id="approve-form"' not in page

    no_reason = client.post(f"/ui/approvals/{second.id}/reject", data={"csrf": csrf, "reason": "  "})
    assert no_reason.headers["Location"].endswith("?done=reason_required")
    too_long = client.post(f"/ui/approvals/{second.id}/reject", data={"csrf": csrf, "reason": "x" * 2001})
    assert too_long.headers["Location"].endswith("?done=too_long")
    assert context.proposals.get(second.id).status == "pending"
    rejected = client.post(f"/ui/approvals/{second.id}/reject", data={"csrf": csrf, "reason": "not now"})
    assert rejected.headers["Location"].endswith("?done=rejected")
    assert context.proposals.get(second.id).comment == "not now"
    assert client.post("/ui/approvals/p-nope/approve", data={"csrf": csrf}).status_code == 404


def test_a_viewer_may_read_but_not_decide(client, context) -> None:
    proposal = park(context)
    csrf = sign_in(client, TOKENS["viewer"])
    page = client.get(f"/ui/approvals/{proposal.id}").get_data(as_text=True)
    assert 'id="approve-form"' not in page and "only an approver may decide" in page
    refused = client.post(f"/ui/approvals/{proposal.id}/approve", data={"csrf": csrf})
    assert refused.status_code == 403 and context.proposals.get(proposal.id).status == "pending"


def test_sign_out_ends_the_session_on_the_server(client, context) -> None:
    csrf = sign_in(client, TOKENS["approver"])
    cookie = client.get_cookie(sessions.COOKIE).value
    answer = client.post("/ui/sign-out", data={"csrf": csrf})
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/sign-in?signed_out=1"
    assert "Max-Age=0" in _cookie(answer, sessions.COOKIE)
    assert context.redis.keys(sessions.PREFIX + "*") == []
    replay = create_app(context, token_book()).test_client()
    replay.set_cookie(sessions.COOKIE, cookie)
    assert replay.get("/ui/approvals").status_code == 303  # the old cookie opens nothing


@pytest.mark.parametrize(
    ("asked", "landed"),
    [
        ("/ui/records?status=proposed", "/ui/records?status=proposed"),
        ("//evil.example/ui/x", "/ui/approvals"),
        ("https://evil.example/ui/", "/ui/approvals"),
        ("/\\evil.example", "/ui/approvals"),
        ("/api/v1/approvals", "/ui/approvals"),
    ],
)
def test_after_sign_in_the_browser_stays_on_the_pages(client, asked, landed) -> None:
    form = client.get("/ui/sign-in")
    answer = client.post(
        "/ui/sign-in",
        data={"csrf": csrf_of(form.get_data(as_text=True)), "token": TOKENS["viewer"], "next": asked},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == landed


def test_a_page_asked_for_without_a_session_comes_back_after_sign_in(client, context) -> None:
    proposal = park(context)
    answer = client.get(f"/ui/approvals/{proposal.id}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/ui/sign-in?next=%2Fui%2Fapprovals%2F{proposal.id}"
    assert client.get("/ui/approvals/p-nope").status_code == 303  # nothing is told before sign-in


def test_text_from_alerts_and_advisers_is_escaped(client, context) -> None:
    proposal = park(context)
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'

    def plant(p) -> None:
        p.diagnosis = {
            "summary": hostile,
            "root_cause": hostile,
            "citations": [{"source": "logs", "text": hostile}],
        }
        p.advice = [{"adviser": "kagent", "status": "ok", "summary": hostile, "findings": [hostile]}]

    context.proposals.update(proposal.id, plant)
    sign_in(client, TOKENS["viewer"])
    page = client.get(f"/ui/approvals/{proposal.id}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    listing = client.get("/ui/approvals").get_data(as_text=True)
    assert "<script>alert" not in listing and "&lt;script&gt;" in listing


def test_a_token_removed_from_the_store_ends_its_sessions(client, context) -> None:
    sign_in(client, TOKENS["approver"])
    cookie = client.get_cookie(sessions.COOKIE).value
    stored = b"".join(context.redis.get(key) for key in context.redis.keys(sessions.PREFIX + "*"))
    assert TOKENS["approver"].encode() not in stored  # only the token's SHA-256 is kept
    rotated = create_app(
        context, TokenBook([{"name": "viewer-user", "role": "viewer", "token": TOKENS["viewer"]}])
    )
    after = rotated.test_client()
    after.set_cookie(sessions.COOKIE, cookie)
    assert after.get("/ui/approvals").status_code == 303  # the approver token is gone: signed out
    demoted = create_app(
        context, TokenBook([{"name": "approver-user", "role": "viewer", "token": TOKENS["approver"]}])
    )
    same = demoted.test_client()
    same.set_cookie(sessions.COOKIE, cookie)
    page = same.get("/ui/approvals").get_data(as_text=True)
    assert "approver-user (viewer)" in page  # the role the store gives the token now
