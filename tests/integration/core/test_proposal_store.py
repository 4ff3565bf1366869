"""The approval queue in a real Redis: idempotent creation, legal moves only, and racing decisions."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from workers.clock import expiry_after, iso
from workers.domain import Proposal
from workers.errors import Conflict, NotFound
from workers.spine.proposals import ProposalStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def make(store_clock=NOW, **overrides) -> Proposal:
    pid = overrides.pop("id", "p-0123456789abcdef0123")
    fields = {
        "id": pid,
        "rule": "r",
        "playbook": "pod-failure",
        "alert": {"fingerprint": "fp", "labels": {"alertname": "A"}},
        "target": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
        "created_at": iso(store_clock),
        "expires_at": expiry_after(store_clock, 3600),
        "record_id": "r-" + pid[2:],
    }
    fields.update(overrides)
    return Proposal(**fields)


@pytest.fixture
def store(redis_conn) -> ProposalStore:
    return ProposalStore(redis_conn, lambda: NOW, retention_s=3600)


def test_create_is_idempotent(store: ProposalStore) -> None:
    first, created = store.create(make())
    again, created_again = store.create(make(comment="different"))
    assert created and not created_again
    assert again.comment is None and again.id == first.id
    assert [p.id for p in store.list("pending")] == [first.id]
    assert store.ids_for_alert("fp") == [first.id]
    assert store.count_by_status()["pending"] == 1


def test_transition_moves_indexes_and_keeps_history(store: ProposalStore) -> None:
    proposal, _ = store.create(make())
    approved = store.transition(
        proposal.id, "approved", expect=["pending"], mutate=lambda p: setattr(p, "decided_by", "alice")
    )
    assert approved.status == "approved" and approved.decided_by == "alice"
    assert store.get(proposal.id).status == "approved"
    assert store.list("pending") == [] and [p.id for p in store.list("approved")] == [proposal.id]
    assert approved.history[-1]["from"] == "pending" and approved.history[-1]["to"] == "approved"


def test_illegal_moves_are_conflicts(store: ProposalStore) -> None:
    proposal, _ = store.create(make())
    with pytest.raises(Conflict, match="cannot go from pending to executing"):
        store.transition(proposal.id, "executing", expect=["pending"])
    store.transition(proposal.id, "rejected", expect=["pending"])
    with pytest.raises(Conflict, match="is rejected, not pending"):
        store.transition(proposal.id, "approved", expect=["pending"])
    with pytest.raises(NotFound):
        store.transition("p-missing", "approved", expect=["pending"])


def test_racing_decisions_exactly_one_wins(store: ProposalStore, redis_server) -> None:
    import redis

    proposal, _ = store.create(make())
    outcomes: list[str] = []
    barrier = threading.Barrier(16)

    def decide(index: int) -> None:
        own = ProposalStore(redis.Redis.from_url(redis_server.url), lambda: NOW, 3600)
        target = "approved" if index % 2 else "rejected"
        barrier.wait()
        try:
            own.transition(
                proposal.id,
                target,
                expect=["pending"],
                mutate=lambda p: setattr(p, "decided_by", f"user-{index}"),
            )
            outcomes.append(target)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "conflict"]
    assert len(winners) == 1 and outcomes.count("conflict") == 15
    final = store.get(proposal.id)
    assert final.status == winners[0]
    assert len(final.history) == 1


def test_concurrent_edits_that_keep_the_state_are_all_kept(store: ProposalStore, redis_server) -> None:
    import redis

    proposal, _ = store.create(make())

    def attach(index: int) -> None:
        own = ProposalStore(redis.Redis.from_url(redis_server.url), lambda: NOW, 3600)
        own.update(proposal.id, lambda p: p.advice.append({"adviser": f"a{index}"}), expect=["pending"])

    threads = [threading.Thread(target=attach, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a["adviser"] for a in store.get(proposal.id).advice) == sorted(f"a{i}" for i in range(10))


def test_due_for_expiry(store: ProposalStore) -> None:
    old, _ = store.create(make(id="p-old", expires_at=iso(NOW - timedelta(seconds=1))))
    fresh, _ = store.create(make(id="p-new", alert={"fingerprint": "fp2"}))
    assert store.due_for_expiry(NOW) == [old.id]
    assert fresh.id not in store.due_for_expiry(NOW)


class Clock:
    """A clock the test moves by hand (Redis's TTLs still run on real time)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_status_indexes_drop_proposals_that_redis_expired(redis_conn) -> None:
    """Issue 9: ids of proposals dropped by their TTL stayed in the non-pending status sets and inflated
    the counts /metrics reports (``count_by_status``)."""
    from workers.spine.proposals import PREFIX

    clock = Clock(datetime.now(UTC))
    store = ProposalStore(redis_conn, clock, retention_s=1)
    started = clock.now
    store.create(make(id="p-old", store_clock=started))
    store.transition("p-old", "rejected", expect=["pending"])
    deadline = time.monotonic() + 15
    while redis_conn.exists(PREFIX + "p-old") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not redis_conn.exists(PREFIX + "p-old"), "Redis did not expire the proposal"

    clock.now = started + timedelta(seconds=1.5)
    store.create(make(id="p-new", store_clock=clock.now))
    store.transition("p-new", "rejected", expect=["pending"])
    counts = store.count_by_status()
    assert counts["rejected"] == 1 and counts["pending"] == 0
    members = {member.decode() for member in redis_conn.zrange("aiops:proposals:rejected", 0, -1)}
    assert members == {"p-new"}


def test_a_status_change_restarts_the_retention(store: ProposalStore, redis_conn) -> None:
    from workers.spine.proposals import PREFIX

    pid = store.create(make())[0].id
    redis_conn.expire(PREFIX + pid, 10)
    store.update(pid, lambda p: setattr(p, "comment", "no status change"))
    assert redis_conn.ttl(PREFIX + pid) <= 10
    store.transition(pid, "rejected", expect=["pending"])
    assert redis_conn.ttl(PREFIX + pid) > 3000
    assert redis_conn.zscore("aiops:proposals:rejected", pid) == NOW.timestamp()
