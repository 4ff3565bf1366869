"""Scores (the documented formula), week-over-week comparison, and rendering of any report."""

from __future__ import annotations

import datetime as dt

import pytest

from workers.domain import Finding, Report, Section, Severity
from workers.spine.report_render import bar_chart, render, render_html, render_markdown
from workers.workflows.health_report import scoring
from workers.workflows.health_report.changes import compare

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.UTC).isoformat()


def _finding(check: str, severity: Severity, name: str, message: str = "odd") -> Finding:
    return Finding(
        check=check,
        title=check,
        severity=severity,
        kind="Pod",
        namespace="shop",
        name=name,
        message=message,
        remediation="fix it",
    )


def test_section_score_counts_each_object_once_at_its_worst() -> None:
    findings = [
        _finding("a", Severity.high, "p1"),
        _finding("b", Severity.critical, "p1"),  # p1 costs 1.0, not 1.6
        _finding("c", Severity.medium, "p2"),
    ]
    assert scoring.section_score(10, findings) == 87.0  # 100 * (1 - 1.3 / 10)
    assert scoring.section_score(0, []) == 100.0
    assert scoring.section_score(1, findings) == 0.0


def test_overall_is_the_mean_less_five_per_critical_and_graded() -> None:
    sections = [
        Section(id="a", title="A", score=90.0, findings=[_finding("x", Severity.critical, "p")]),
        Section(id="b", title="B", score=70.0),
        Section(id="c", title="C", score=None, unavailable="forbidden"),
    ]
    assert scoring.overall(sections) == (75.0, "C")  # (90 + 70) / 2 - 5
    assert scoring.overall([Section(id="c", title="C")]) == (None, None)
    assert [scoring.grade(s) for s in (95, 85, 75, 65, 10)] == ["A", "B", "C", "D", "F"]


def _report(report_id: str, findings: list[Finding], error_ratio: float, cpu: float) -> Report:
    return Report(
        id=report_id,
        kind="health",
        period_start=NOW,
        period_end=NOW,
        generated_at=NOW,
        score=80.0,
        grade="B",
        sections=[
            Section(id="pods", title="Pods", score=80.0, findings=findings),
            Section(
                id="services",
                title="Service health",
                summary={"services": {"shop/a": {"error_ratio": error_ratio}}},
            ),
            Section(id="capacity", title="Capacity", summary={"cluster": {"cpu_requests_pct": cpu}}),
        ],
    )


def test_compare_names_new_resolved_and_moved_figures() -> None:
    before = _report(
        "health-1",
        [
            _finding("pods.crashlooping", Severity.high, "p1"),
            _finding("pods.oomkilled", Severity.high, "p2"),
        ],
        0.01,
        40.0,
    )
    after = _report(
        "health-2",
        [
            _finding("pods.oomkilled", Severity.high, "p2"),
            _finding("pods.pending", Severity.high, "p3"),
        ],
        0.03,
        55.5,
    )
    changes = compare(after, before)
    assert changes["previous_id"] == "health-1"
    assert [item["key"] for item in changes["new_findings"]] == ["pods.pending:Pod/shop/p3"]
    assert [item["key"] for item in changes["resolved_findings"]] == ["pods.crashlooping:Pod/shop/p1"]
    assert changes["still_open"] == 1
    assert changes["services"]["shop/a"]["error_ratio"] == {
        "before": 0.01,
        "after": 0.03,
        "delta": 0.02,
    }
    assert changes["capacity"]["cpu_requests_pct"]["delta"] == 15.5
    assert compare(after, None)["previous_id"] is None


def test_rendering_escapes_everything_a_cluster_wrote() -> None:
    hostile = '<script>alert(1)</script> | `x` "q"'
    report = _report("health-1", [_finding("pods.crashlooping", Severity.critical, "p<1>", hostile)], 0.5, 10)
    report.sections[1].summary["charts"] = [
        {
            "title": "<b>t</b>",
            "unit": "%",
            "series": ["5xx"],
            "bars": [{"label": hostile, "values": [50.0]}],
        }
    ]
    page = render_html(report)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>t</b>" not in page and page.count("<svg") == 1
    assert "src=" not in page and "href=" not in page  # nothing to fetch
    markdown = render_markdown(report)
    assert "\\| `x`" in markdown  # a pipe cannot break the table
    assert markdown.index("## Critical and high findings") < markdown.index("## Pods")
    with pytest.raises(ValueError, match="format: must be json, md or html"):
        render(report, "pdf")


def test_bar_chart_scales_bars_to_the_largest_value_or_the_given_max() -> None:
    svg = bar_chart(
        {
            "title": "c",
            "unit": "%",
            "max": 100,
            "series": ["cpu"],
            "bars": [{"label": "n1", "values": [50.0]}, {"label": "n2", "values": [150.0]}],
        },
        width=520,
    )
    plot = 520 - 180 - 70
    assert (
        f'width="{plot / 2:.1f}"' in svg and f'width="{plot:.1f}"' in svg
    )  # 150 % is drawn full, not past it
    assert "no data" in bar_chart({"title": "empty", "bars": []})
