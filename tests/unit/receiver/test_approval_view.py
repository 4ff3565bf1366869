"""The pieces of the approval page that need no store: times in words, citations grouped by where they
came from, the timeline's one-line summaries, and the validation plan in words."""

from __future__ import annotations

from datetime import UTC, datetime

from receiver.approval_view import ago, grouped_citations, summary_of, validation_words

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_times_read_in_their_largest_whole_unit() -> None:
    assert ago("2026-11-25T11:55:00Z", NOW) == "5 min ago"
    assert ago("2026-11-25T13:30:00Z", NOW) == "in 1 h"
    assert ago("2026-11-23T12:00:00Z", NOW) == "2 d ago"
    assert ago("2026-11-25T11:59:30Z", NOW) == "30 s ago"
    assert ago(None, NOW) == ""


def test_citations_are_grouped_by_their_source() -> None:
    diagnosis = {
        "citations": [
            {"source": "logs/app", "text": "DATABASE_URL is not set"},
            {"source": "pod.status.containerStatuses[app].lastState.terminated", "text": "exitCode=1"},
            {"source": "events", "text": "BackOff restarting failed container"},
            {"source": "logs/app", "text": "exiting"},
            {"source": "prometheus:memory_peak_bytes", "text": "peak 256Mi"},
            "not a citation",
        ]
    }
    groups = dict(grouped_citations(diagnosis))
    assert [c["text"] for c in groups["Log lines"]] == ["DATABASE_URL is not set", "exiting"]
    assert list(groups) == ["Log lines", "Container state", "Events", "Metrics"]


def test_a_timeline_line_names_what_a_person_looks_for() -> None:
    line = summary_of("approval", {"decision": "approved", "by": "alice", "at": "…", "comment": "ok"})
    assert line == "decision: approved; by: alice; comment: ok"
    assert summary_of("evidence_query", {"name": "restarts_1h", "value": 6.0}) == "restarts_1h = 6.0"
    assert summary_of("proposal", {"action": {"type": "x"}, "risk": "low"}) == ""  # no nested dumps


def test_the_validation_plan_in_words() -> None:
    words = validation_words(
        {"after_s": 120, "for_s": 3600, "checks": [{"kubernetes": "target_ready"}], "described": "Ready."}
    )
    assert words[0] == "Ready."
    assert "target_ready start 120 s after the change" in words[1] and "3600 s" in words[1]
    assert validation_words({}) == []
