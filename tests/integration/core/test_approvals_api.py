"""The approvals and records API over HTTP, on a real Redis: roles, decisions, conflicts, expiry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from rq import Queue

from receiver.app import create_app
from tests.support.receiver_api import auth, park, token_book
from workers.clock import iso


def test_list_and_show_for_viewers(client, context) -> None:
    park(context)
    listing = client.get("/api/v1/approvals?status=pending", headers=auth("viewer"))
    assert listing.status_code == 200 and [p["id"] for p in listing.get_json()["items"]] == ["p-0001"]
    shown = client.get("/api/v1/approvals/p-0001", headers=auth("viewer")).get_json()
    assert shown["diagnosis"]["category"] == "bad_config" and shown["status"] == "pending"
    assert client.get("/api/v1/approvals/p-nope", headers=auth("viewer")).status_code == 404
    assert client.get("/api/v1/approvals", headers=auth("webhook")).status_code == 403
    assert client.get("/api/v1/approvals").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=maybe", "status"), ("limit=x", "limit"), ("limit=0", "limit"), ("limit=501", "limit")],
)
def test_bad_list_parameters(client, query, field) -> None:
    response = client.get(f"/api/v1/approvals?{query}", headers=auth("viewer"))
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_approve_records_identity_and_queues_execution(client, context) -> None:
    park(context)
    response = client.post(
        "/api/v1/approvals/p-0001/approve",
        json={"comment": "go", "decided_by": "mallory"},
        headers=auth("approver"),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "approved" and body["decided_by"] == "approver-user" and body["comment"] == "go"
    jobs = Queue("actions", connection=context.redis).get_jobs()
    assert [(job.func_name, job.args) for job in jobs] == [
        ("workers.spine.lifecycle.execute_job", ("p-0001",))
    ]
    record = client.get("/api/v1/records/r-0001", headers=auth("viewer")).get_json()
    approval = [e for e in record["entries"] if e["kind"] == "approval"]
    assert approval and approval[0]["data"]["by"] == "approver-user"
    again = client.post("/api/v1/approvals/p-0001/approve", headers=auth("approver"))
    assert again.status_code == 409 and "approved, not pending" in again.get_json()["detail"]


def test_viewer_cannot_decide(client, context) -> None:
    park(context)
    response = client.post("/api/v1/approvals/p-0001/approve", headers=auth("viewer"))
    assert response.status_code == 403
    assert context.proposals.get("p-0001").status == "pending"


def test_reject_needs_a_reason(client, context) -> None:
    park(context)
    missing = client.post("/api/v1/approvals/p-0001/reject", json={}, headers=auth("approver"))
    assert missing.status_code == 400 and missing.get_json()["field"] == "reason"
    wrong = client.post("/api/v1/approvals/p-0001/reject", json={"reason": 5}, headers=auth("approver"))
    assert wrong.status_code == 400
    bad_json = client.post(
        "/api/v1/approvals/p-0001/reject", data="{", content_type="application/json", headers=auth("approver")
    )
    assert bad_json.status_code == 400
    done = client.post(
        "/api/v1/approvals/p-0001/reject", json={"reason": "not now"}, headers=auth("approver")
    )
    assert done.status_code == 200 and done.get_json()["status"] == "rejected"
    assert Queue("actions", connection=context.redis).get_jobs() == []


def test_approving_an_expired_proposal_is_a_conflict(client, context) -> None:
    park(context, expires_in=-5)
    response = client.post("/api/v1/approvals/p-0001/approve", headers=auth("approver"))
    assert response.status_code == 409 and "expired" in response.get_json()["detail"]
    assert context.proposals.get("p-0001").status == "expired"
    assert Queue("actions", connection=context.redis).get_jobs() == []


def test_racing_approve_and_reject_over_http(context) -> None:
    park(context)
    app = create_app(context, token_book())
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def decide(index: int) -> None:
        client = app.test_client()
        barrier.wait()
        if index % 2:
            response = client.post("/api/v1/approvals/p-0001/approve", headers=auth("approver"))
        else:
            response = client.post(
                "/api/v1/approvals/p-0001/reject", json={"reason": "race"}, headers=auth("approver")
            )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 9
    final = context.proposals.get("p-0001").status
    assert final in {"approved", "rejected"}
    assert len(Queue("actions", connection=context.redis).get_jobs()) == (1 if final == "approved" else 0)


def test_record_formats(client, context) -> None:
    park(context)
    md = client.get("/api/v1/records/r-0001?format=md", headers=auth("viewer"))
    assert md.status_code == 200 and md.mimetype == "text/markdown"
    assert "# Operations log r-0001" in md.get_data(as_text=True)
    assert client.get("/api/v1/records/r-none", headers=auth("viewer")).status_code == 404


def test_expire_job_moves_stale_proposals(context) -> None:
    from workers.spine.lifecycle import expire_pending

    park(context, pid="p-old", expires_in=-1)
    park(context, pid="p-new", fingerprint="fp-2")
    assert expire_pending(context) == ["p-old"]
    assert context.proposals.get("p-old").status == "expired"
    assert context.proposals.get("p-new").status == "pending"
    assert "expired" in context.records.kinds("r-old")


def test_resolved_alert_supersedes_pending(context) -> None:
    from workers.spine.lifecycle import supersede_for_alert

    park(context)
    assert supersede_for_alert(context, {"fingerprint": "fp-1", "endsAt": iso(datetime.now(UTC))}) == [
        "p-0001"
    ]
    assert context.proposals.get("p-0001").status == "superseded"
    # Decided ones stay as they are.
    park(context, pid="p-0002", fingerprint="fp-2")
    context.proposals.transition("p-0002", "approved", expect=["pending"])
    assert supersede_for_alert(context, {"fingerprint": "fp-2"}) == []
    assert context.proposals.get("p-0002").status == "approved"
