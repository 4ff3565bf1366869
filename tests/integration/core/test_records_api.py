"""Listing audit records on a real Redis: the status a record's entries give it, the indexes behind
``GET /api/v1/records`` (status, rule, since, limit), and who may list them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receiver.app import create_app
from tests.support.receiver_api import auth, token_book
from workers.spine.context import Context
from workers.spine.records import INDEX, STATUS_INDEX, RecordStatus, RecordStore, parse_since


class Clock:
    """A settable clock, so records get creation times days apart without waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_conn, clock) -> RecordStore:
    return RecordStore(redis_conn, clock, retention_s=30 * 86400)


@pytest.fixture
def clocked(context, clock) -> Context:
    return Context(settings=context.settings, redis=context.redis, rules=context.rules, clock=clock)


@pytest.fixture
def clocked_client(clocked):
    return create_app(clocked, token_book()).test_client()


def test_entries_move_the_status_forward_and_keep_one_status_index_entry(store, redis_conn) -> None:
    store.open("r-1", {"rule": "pod-crashloop"})
    assert store.status("r-1") == RecordStatus.investigating
    store.append("r-1", "alert_received", {"alert": {}})
    store.append("r-1", "evidence", {})
    assert store.status("r-1") == RecordStatus.investigating
    steps = [
        ("proposal", {"proposal_id": "p-1"}, RecordStatus.proposed),
        ("notification", {"sinks": []}, RecordStatus.proposed),
        ("approval", {"decision": "approved", "by": "alice"}, RecordStatus.approved),
        # An adviser's alternative in the same record expires later: the record stays approved.
        ("expired", {"expires_at": "x"}, RecordStatus.approved),
        ("execution_started", {}, RecordStatus.executing),
        ("execution_finished", {"status": "succeeded"}, RecordStatus.succeeded),
        ("validation_check", {"round": 0}, RecordStatus.succeeded),
        ("validation_result", {"status": "validated"}, RecordStatus.validated),
    ]
    for kind, data, expected in steps:
        store.append("r-1", kind, data)
        assert store.status("r-1") == expected, kind
        members = [s for s in RecordStatus if redis_conn.zscore(STATUS_INDEX + s, "r-1") is not None]
        assert members == [expected], kind
    assert store.get("r-1")["status"] == "validated"


def test_target_gone_and_other_dead_ends_are_statuses(store) -> None:
    for rid, kind in (("r-gone", "target_gone"), ("r-skip", "skipped"), ("r-fail", "investigation_failed")):
        store.open(rid, {"rule": "pod-crashloop"})
        store.append(rid, "alert_received", {})
        store.append(rid, kind, {"detail": "x"})
    listed = store.list(status=RecordStatus.target_gone)
    assert [item["id"] for item in listed] == ["r-gone"]
    assert listed[0]["last_kind"] == "target_gone" and listed[0]["rule"] == "pod-crashloop"


def _populate(store, clock) -> None:
    """Five records created a day apart, newest last: two rules, three statuses."""
    start = clock.now - timedelta(days=4)
    plan = [
        ("r-a", "pod-crashloop", "target_gone"),
        ("r-b", "pod-oomkilled", "proposal"),
        ("r-c", "pod-crashloop", "proposal"),
        ("r-d", "pod-crashloop", "target_gone"),
        ("r-e", "pod-oomkilled", "skipped"),
    ]
    for day, (rid, rule, kind) in enumerate(plan):
        clock.now = start + timedelta(days=day)
        store.open(rid, {"rule": rule, "alertname": "X", "created_at": clock.now.isoformat()})
        store.set_meta(rid, target={"kind": "Pod", "namespace": "shop", "name": rid})
        store.append(rid, kind, {})
    clock.now = start + timedelta(days=4, hours=1)


def _ids(client, query: str, role: str = "viewer") -> list[str]:
    response = client.get(f"/api/v1/records{query}", headers=auth(role))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_api_filters_by_status_rule_since_and_limit(clocked_client, clocked, clock) -> None:
    client = clocked_client
    _populate(clocked.records, clock)
    assert _ids(client, "") == ["r-e", "r-d", "r-c", "r-b", "r-a"]
    assert _ids(client, "?status=target_gone") == ["r-d", "r-a"]
    assert _ids(client, "?status=proposed&rule=pod-crashloop") == ["r-c"]
    assert _ids(client, "?rule=pod-oomkilled") == ["r-e", "r-b"]
    assert _ids(client, "?since=2d") == ["r-e", "r-d"]
    since = (clock.now - timedelta(days=3, hours=2)).isoformat()
    assert _ids(client, f"?since={since.replace('+00:00', 'Z')}&status=target_gone") == ["r-d"]
    assert _ids(client, "?limit=2") == ["r-e", "r-d"]
    assert _ids(client, "?status=validated") == []
    assert _ids(client, "", role="approver") == ["r-e", "r-d", "r-c", "r-b", "r-a"]
    item = client.get("/api/v1/records?limit=1", headers=auth("viewer")).get_json()["items"][0]
    assert item == {
        "id": "r-e",
        "status": "skipped",
        "rule": "pod-oomkilled",
        "alertname": "X",
        "target": {"kind": "Pod", "namespace": "shop", "name": "r-e"},
        "proposal_id": None,
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
        "last_kind": "skipped",
        "entries": 1,
    }


def test_records_past_retention_are_not_listed(redis_conn, clock) -> None:
    store = RecordStore(redis_conn, clock, retention_s=86400)
    store.open("r-old", {"rule": "pod-crashloop"})
    clock.now += timedelta(days=2)
    store.open("r-new", {"rule": "pod-crashloop"})
    assert [item["id"] for item in store.list()] == ["r-new"]
    assert redis_conn.zscore(INDEX, "r-old") is None  # trimmed by the next write


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=maybe", "status"),
        ("status=pending", "status"),  # a proposal state, not a record status
        ("since=yesterday", "since"),
        ("since=30", "since"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_field(client, query, field) -> None:
    response = client.get(f"/api/v1/records?{query}", headers=auth("viewer"))
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["error"] == "invalid_payload"


def test_listing_needs_a_viewer_or_approver_token(client) -> None:
    assert client.get("/api/v1/records").status_code == 401
    assert (
        client.get("/api/v1/records", headers={"Authorization": "Bearer not-a-known-token-x"}).status_code
        == 401
    )
    assert client.get("/api/v1/records", headers=auth("webhook")).status_code == 403


def test_parse_since_accepts_durations_and_iso_times() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert parse_since("2026-11-20T10:00:00Z", now) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert parse_since("2026-11-20T10:00:00", now) == datetime(2026, 11, 20, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("last week", now)
