"""An approver's pages in a real headless Chromium: sign in, the list, the detail page of a real proposal
(the OOM scenario investigated by a real worker), approve with a comment, reject with a reason, a viewer
who cannot decide, an expired proposal, and the CSP (no console errors on any page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support.browser import PHONE, Browser, sign_in
from tests.support.pipeline import TOKENS
from tests.support.ui_pages import stored_gate

from .conftest import Site

SECTIONS = ["#summary", "#diagnosis", "#change", "#risk", "#advice", "#decide", "#timeline"]


def test_sign_in_list_and_detail_top_to_bottom(site: Site, browser: Browser) -> None:
    proposal = site.park()
    browser.open("/ui/approvals")
    assert browser.path.startswith("/ui/sign-in")
    browser.fill("#token", "not-a-token-of-anybody")
    browser.submit("#sign-in")
    assert "not accepted" in browser.text("#problem")
    refused = browser.errors()  # the refused sign-in is answered 401, which Chromium logs; nothing else
    assert len(refused) == 1 and "401" in refused[0], refused
    browser.screenshot("sign-in-refused")
    browser.fill("#token", TOKENS["approver"])
    browser.submit("#sign-in")
    assert browser.path == "/ui/approvals"
    assert "approver-user (approver)" in browser.text("#who")

    rows = browser.all("tr.proposal")
    assert [row.get_attribute("data-id") for row in rows] == [proposal.id]
    row = rows[0].text
    assert "pending" in row and "Deployment shop/checkout" in row and "raise-memory-limit" in row
    assert "expires in" in row and "ago" in row  # its expiry and its age
    browser.screenshot("approvals-list-laptop")
    browser.screenshot("approvals-list-phone", PHONE)
    browser.css("#namespace").send_keys("shop")
    browser.submit("#filter")
    assert "namespace=shop" in browser.path and len(browser.all("tr.proposal")) == 1

    browser.submit(f"tr.proposal[data-id='{proposal.id}'] a")
    assert browser.path == f"/ui/approvals/{proposal.id}"
    tops = [browser.css(selector).location["y"] for selector in SECTIONS]
    assert tops == sorted(tops), dict(zip(SECTIONS, tops, strict=True))
    assert "OOMKilled" in browser.text("#root-cause")
    assert "reason=OOMKilled exitCode=137" in browser.text("#citations")
    assert "CrashLoopBackOff" in browser.text("#containers")
    assert browser.all("#charts svg rect.bar"), "the evidence figures are drawn"
    diff = browser.css("#diff")
    added = [line.text for line in diff.find_elements("css selector", ".add")]
    removed = [line.text for line in diff.find_elements("css selector", ".del")]
    assert any("memory: 384Mi" in line for line in added), added
    assert any("memory: 256Mi" in line for line in removed), removed
    assert "Medium risk" in browser.text("#risk-words")
    assert "384Mi" in browser.text("#expected")
    assert "restarts_stable" in browser.text("#validation-plan")
    assert browser.text("#timeline").count("evidence query") >= 1 and "proposal" in browser.text("#timeline")
    assert browser.css("#record-link").get_attribute("href").endswith(f"/ui/records/{proposal.record_id}")
    browser.screenshot("approval-detail-laptop")
    browser.screenshot("approval-detail-phone", PHONE)
    assert browser.errors() == []


def test_approve_with_a_comment_then_the_page_follows_the_change(site: Site, browser: Browser) -> None:
    proposal = site.park()
    sign_in(browser, TOKENS["approver"], f"/ui/approvals/{proposal.id}")
    browser.fill("#comment", "raise it, the promo cache doubled")
    browser.submit("#approve")
    assert browser.path == f"/ui/approvals/{proposal.id}?done=approved"
    assert "Approved" in browser.text("#notice")
    assert browser.text("#status") == "approved"
    assert "approver-user" in browser.text("#decision")
    assert "raise it, the promo cache doubled" in browser.text("#decision")
    assert not browser.all("#approve-form") and "nothing to decide" in browser.text("#cannot-decide")
    stored = site.pipeline.context.proposals.get(proposal.id)
    assert stored.status == "approved" and stored.decided_by == "approver-user"
    assert stored.comment == "raise it, the promo cache doubled"

    # The default list still shows what was just decided.
    browser.open("/ui/approvals")
    assert [row.get_attribute("data-id") for row in browser.all("tr.proposal")] == [proposal.id]
    assert "approved by approver-user" in browser.css("tr.proposal").text

    # The worker runs it; the page then shows the result and the diff from the execution's snapshot.
    site.pipeline.work(
        until=lambda: site.pipeline.context.proposals.get(proposal.id).status in {"validated", "regressed"},
        timeout=60,
    )
    browser.open(f"/ui/approvals/{proposal.id}")
    assert browser.text("#status") == "validated"
    assert "snapshot" in browser.css("#change").text
    assert any("384Mi" in line.text for line in browser.all("#diff .add"))
    timeline = browser.text("#timeline")
    for kind in ("approval", "dry run", "snapshot", "applied", "validation"):
        assert kind in timeline, kind
    browser.screenshot("approval-detail-validated")
    assert browser.errors() == []


def test_reject_needs_a_reason_and_records_it(site: Site, browser: Browser) -> None:
    proposal = site.park()
    sign_in(browser, TOKENS["approver"], f"/ui/approvals/{proposal.id}")
    browser.click("#reject")  # the empty reason is refused by the form itself
    assert browser.path == f"/ui/approvals/{proposal.id}"
    assert site.pipeline.context.proposals.get(proposal.id).status == "pending"
    browser.fill("#reason", "the limit is set by the platform team; ticket OPS-12")
    browser.submit("#reject")
    assert browser.path == f"/ui/approvals/{proposal.id}?done=rejected"
    assert browser.text("#status") == "rejected"
    assert "ticket OPS-12" in browser.text("#decision")
    record = site.pipeline.context.records.get(proposal.record_id)
    approval = next(e["data"] for e in record["entries"] if e["kind"] == "approval")
    assert approval["decision"] == "rejected" and approval["reason"].endswith("OPS-12")
    browser.screenshot("approval-detail-rejected")
    assert browser.errors() == []


def test_a_viewer_sees_everything_but_cannot_decide(site: Site, browser: Browser) -> None:
    proposal = site.park()
    sign_in(browser, TOKENS["viewer"], f"/ui/approvals/{proposal.id}")
    assert not browser.all("#approve-form") and not browser.all("#reject-form")
    assert "only an approver may decide" in browser.text("#cannot-decide")
    assert browser.all("#diff .add")
    browser.screenshot("approval-detail-viewer")

    # Even a hand-made POST with the viewer's own session and CSRF token is refused.
    cookie = browser.driver.get_cookie("aiops_session")["value"]
    csrf = browser.css("form.who input[name=csrf]").get_attribute("value")
    answer = httpx.post(
        f"{site.url}/ui/approvals/{proposal.id}/approve",
        data={"csrf": csrf, "comment": "sneaky"},
        cookies={"aiops_session": cookie},
    )
    assert answer.status_code == 403 and "may not decide" in answer.text
    assert site.pipeline.context.proposals.get(proposal.id).status == "pending"
    assert browser.errors() == []


def test_an_expired_proposal_cannot_be_approved(site: Site, browser: Browser) -> None:
    proposal = site.park()
    later = datetime.now(UTC) + timedelta(hours=2)
    site.pipeline.context.clock = lambda: later  # past the proposal's expiry; cron has not run
    sign_in(browser, TOKENS["approver"], f"/ui/approvals/{proposal.id}")
    assert "expired" in browser.text("#expiry")
    assert not browser.all("#approve-form")
    assert "can no longer be approved" in browser.text("#cannot-decide")
    browser.screenshot("approval-detail-expired")
    browser.open("/ui/approvals")
    assert "expired" in browser.css(f"tr.proposal[data-id='{proposal.id}']").text

    # A form kept open from before the expiry is refused by the decision path itself.
    cookie = browser.driver.get_cookie("aiops_session")["value"]
    csrf = browser.css("form.who input[name=csrf]").get_attribute("value")
    answer = httpx.post(
        f"{site.url}/ui/approvals/{proposal.id}/approve",
        data={"csrf": csrf},
        cookies={"aiops_session": cookie},
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=expired")
    assert site.pipeline.context.proposals.get(proposal.id).status == "expired"
    browser.open(f"/ui/approvals/{proposal.id}?done=expired")
    assert browser.text("#status") == "expired" and "expired before the decision" in browser.text("#notice")
    assert not browser.all("#approve-form")
    assert browser.errors() == []


def test_every_page_keeps_the_csp_without_console_errors(site: Site, browser: Browser) -> None:
    proposal = site.park()
    gate = stored_gate(site.pipeline.context, proposal.id, proposal.record_id)
    sign_in(browser, TOKENS["approver"])
    pages = [
        "/ui/approvals",
        "/ui/approvals?status=all",
        f"/ui/approvals/{proposal.id}",
        "/ui/records",
        f"/ui/records/{proposal.record_id}",
        "/ui/reports",
        "/ui/rollouts",
        f"/ui/rollouts/{gate.id}",
    ]
    for path in pages:
        browser.open(path)
        inline = browser.driver.execute_script(
            "return [document.querySelectorAll('script:not([src])').length,"
            " document.querySelectorAll('[style]').length, document.querySelectorAll('style').length];"
        )
        assert inline == [0, 0, 0], path
        # The stylesheet applied (so 'self' styles load): the header has its background colour.
        background = browser.driver.execute_script(
            "return getComputedStyle(document.querySelector('header.top')).backgroundColor;"
        )
        assert background == "rgb(248, 249, 250)", path
        assert browser.errors() == [], path
    headers = httpx.get(f"{site.url}/ui/sign-in").headers
    policy = headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    browser.open(f"/ui/records/{proposal.record_id}")
    browser.screenshot("record-detail")
    browser.open(f"/ui/rollouts/{gate.id}")
    assert len(browser.all("#analysis svg circle")) == 3
    browser.screenshot("rollout-detail")
