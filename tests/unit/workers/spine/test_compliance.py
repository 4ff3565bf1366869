"""PHR compliance of one record's entries: a complete log passes; an entry removed, entries out of order,
an automatic approval of a medium-risk change, an approval after the change, all fail with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from workers.spine import compliance

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
KINDS = (
    ("proposal", {"risk": "medium", "approval": "required", "action": {"type": "rollback-deployment"}}),
    ("notification", {"event": "proposal_pending", "sinks": []}),
    ("approval", {"decision": "approved", "by": "alice", "at": "x", "comment": None}),
    ("execution_started", {"action": "rollback-deployment"}),
    ("preconditions_passed", {}),
    ("dry_run", {}),
    ("snapshot", {}),
    ("applied", {}),
    ("execution_finished", {"status": "succeeded"}),
    ("validation_check", {"round": 0}),
    ("validation_result", {"status": "validated"}),
)


def record(kinds=KINDS, pid: str = "p-1", **changes: dict[str, Any]) -> dict[str, Any]:
    entries = []
    for seq, (kind, data) in enumerate(kinds, start=1):
        at = (START + timedelta(seconds=seq)).isoformat()
        entry_data = {**data, "proposal_id": pid, **changes.get(kind, {})}
        if kind == "approval" and entry_data.get("at") == "x":
            entry_data["at"] = at
        entries.append({"seq": seq, "at": at, "kind": kind, "data": entry_data})
    return {"id": "r-1", "proposal_id": pid, "entries": entries}


def without(kind: str) -> tuple:
    return tuple(item for item in KINDS if item[0] != kind)


def audit(rec: dict[str, Any]) -> compliance.ActionAudit:
    (only,) = compliance.audit_record(rec)
    return only


def test_a_complete_record_is_documented() -> None:
    result = audit(record())
    assert result.status == "documented" and result.missing == [] and result.problems == []
    assert (result.approval, result.approved_by, result.risk, result.outcome) == (
        "person",
        "alice",
        "medium",
        "validated",
    )


def test_each_entry_removed_is_named() -> None:
    for kind, words in (
        ("approval", "an approval"),
        ("dry_run", "a server-side dry run"),
        ("snapshot", "a snapshot"),
        ("applied", "the applied change"),
        ("validation_result", "a validation result"),
        ("proposal", "the proposal (what was proposed)"),
    ):
        result = audit(record(without(kind)))
        assert result.status == "incomplete", kind
        assert any(gap.startswith(words) for gap in result.missing), (kind, result.missing)


def test_entries_out_of_order_fail() -> None:
    kinds = list(KINDS)
    approval = kinds.pop(2)
    kinds.insert(kinds.index(next(k for k in kinds if k[0] == "applied")) + 1, approval)  # after applied
    result = audit(record(tuple(kinds)))
    assert result.status == "incomplete"
    assert any("comes after the execution began" in problem for problem in result.problems)


def test_an_approval_dated_after_the_change_fails_even_in_log_order() -> None:
    late = (START + timedelta(hours=1)).isoformat()
    rec = record()
    rec["entries"][2]["at"] = late  # the approval entry: listed first, dated later
    result = audit(rec)
    assert result.status == "incomplete"
    assert any("dated" in problem for problem in result.problems)


def test_dry_run_after_apply_fails() -> None:
    kinds = [k for k in KINDS if k[0] != "dry_run"]
    kinds.insert([k[0] for k in kinds].index("applied") + 1, ("dry_run", {}))
    result = audit(record(tuple(kinds)))
    assert "the dry run is recorded after the change was applied" in result.problems


def test_rejected_then_executed_has_no_approval() -> None:
    result = audit(record(approval={"decision": "rejected"}))
    assert result.status == "incomplete"
    assert result.missing == ["an approval (the record shows only: rejected)"]


def test_automatic_approval_only_for_low_risk_recorded_as_such() -> None:
    auto = {"by": "auto:pod-restart", "auto": True}
    low = record(proposal={"risk": "low", "approval": "auto"}, approval=auto)
    assert audit(low).status == "documented" and audit(low).approval == "automatic"
    medium = audit(record(approval=auto))
    assert (
        medium.status == "incomplete" and "automatic approval of a medium-risk action" in medium.problems[0]
    )
    unrecorded = audit(record(proposal={"risk": "low"}, approval={"by": "auto:pod-restart"}))
    assert "no rule's auto-approval is recorded" in unrecorded.problems[0]


def test_refused_before_any_change_needs_only_the_approval() -> None:
    kinds = (
        *KINDS[:5],
        ("execution_failed", {"status": "failed"}),
        ("execution_finished", {"status": "failed"}),
    )
    result = audit(record(kinds))
    assert result.status == "documented" and result.reached_cluster is False


def test_unknown_outcome_lacks_a_validation_result() -> None:
    kinds = (*KINDS[:8], ("execution_unknown", {"reason": "worker died"}))
    result = audit(record(kinds))
    assert result.status == "incomplete"
    assert result.missing == ["a validation result (the outcome is unknown: a person must check the cluster)"]


def test_proposals_in_one_record_are_checked_apart() -> None:
    main = record()["entries"]
    revert = [
        {**entry, "seq": entry["seq"] + len(main), "data": {**entry["data"], "proposal_id": "p-1-revert"}}
        for entry in record(without("dry_run"))["entries"]
    ]
    for entry in revert:
        entry["at"] = (START + timedelta(minutes=5, seconds=entry["seq"])).isoformat()
    audits = compliance.audit_record({"id": "r-1", "entries": main + revert})
    assert {a.proposal_id: a.status for a in audits} == {"p-1": "documented", "p-1-revert": "incomplete"}


def test_no_action_proposals_and_unexecuted_ones_are_not_counted() -> None:
    parked = record(KINDS[:3])
    assert compliance.audit_record(parked) == []
    noop = record(
        (*KINDS[:4], ("execution_finished", {"status": "succeeded"})),
        proposal={"action": {"type": "none"}},
    )
    assert compliance.audit_record(noop) == []


def test_summary_counts_medium_and_high_and_says_not_compliant() -> None:
    good = audit(record())
    bad = audit(record(without("snapshot"), proposal={"risk": "high"}))
    low = audit(record(proposal={"risk": "low"}))
    result = compliance.summarize([good, bad, low], 3, START, START + timedelta(days=7))
    assert result.compliant is False and result.actions_executed == 3
    assert result.medium_high_documented_percent == 50.0
    assert result.by_risk["high"]["incomplete"] == 1 and result.by_risk["low"]["documented_percent"] == 100.0
    page = compliance.markdown(result)
    assert "NOT compliant: 1 incomplete" in page and "missing: a snapshot" in page
    section = compliance.report_section(result)
    assert section.score is None and section.findings[0].severity == "critical"
    clean = compliance.summarize([good], 1, START, START)
    assert clean.compliant is True and clean.medium_high_documented_percent == 100.0
