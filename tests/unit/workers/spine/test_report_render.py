"""The shared report renderers: excepted findings listed apart, with reason and expiry, never counted."""

from __future__ import annotations

import re

from workers.domain import Finding, Report, Section, Severity
from workers.spine import report_render


def _report() -> Report:
    active = Finding(
        check="rbac.wildcard_all",
        title="Wildcard on everything",
        severity=Severity.critical,
        kind="ClusterRole",
        name="ops-superuser",
        message="ClusterRole ops-superuser grants * on *",
        remediation="name the verbs and resources",
    )
    excepted = Finding(
        check="images.latest_tag",
        title="Image without a pinned tag",
        severity=Severity.high,
        namespace="risky",
        kind="Deployment",
        name="api",
        message="Deployment risky/api runs nginx:latest",
        evidence={"exception": {"reason": "vendor <pins> it | upstream", "expires": "2027-01-31", "line": 3}},
    )
    return Report(
        id="security-20261127T000000Z",
        kind="security",
        period_start="2026-11-20T00:00:00+00:00",
        period_end="2026-11-27T00:00:00+00:00",
        generated_at="2026-11-27T00:00:00+00:00",
        score=80.0,
        grade="B",
        sections=[Section(id="rbac", title="RBAC", score=80.0, findings=[active])],
        excepted=[excepted],
    )


def test_markdown_lists_excepted_findings_apart_after_the_active_ones_and_does_not_count_them() -> None:
    markdown = report_render.render_markdown(_report())
    head, _, excepted = markdown.partition("## Excepted (1)")
    assert excepted, markdown
    assert "rbac.wildcard_all" in head and "images.latest_tag" not in head
    assert "1 critical, 0 high" in head  # the excepted high finding is not in the counts
    (row,) = [line for line in excepted.splitlines() if line.startswith("| images.latest_tag")]
    assert (
        row
        == "| images.latest_tag | Deployment risky/api | high | vendor <pins> it \\| upstream | 2027-01-31 |"
    )
    assert report_render.counts(_report())["high"] == 0


def test_html_lists_excepted_findings_apart_escaped_and_not_counted() -> None:
    page = report_render.render_html(_report())
    start = page.index('<section id="excepted"><h2>Excepted (1)</h2>')
    assert page.index('id="section-rbac"') < start
    excepted = page[start:]
    assert "<td>images.latest_tag</td><td>Deployment risky/api</td>" in excepted
    assert "vendor &lt;pins&gt; it | upstream" in excepted and "<pins>" not in page
    assert "<td>2027-01-31</td>" in excepted
    assert "images.latest_tag" not in page[:start]
    assert re.search(r">0 high</span>", page) and re.search(r">1 critical</span>", page)


def test_a_report_without_excepted_findings_has_no_excepted_part() -> None:
    bare = _report().model_copy(update={"excepted": []})
    assert "Excepted" not in report_render.render_markdown(bare)
    assert 'id="excepted"' not in report_render.render_html(bare)


def test_an_excepted_finding_without_a_recorded_reason_says_so() -> None:
    report = _report()
    report.excepted[0].evidence = {}
    assert "excepted (reason not recorded)" in report_render.render_markdown(report)


def test_json_lists_every_active_finding_at_the_top_with_its_section_and_the_counts() -> None:
    import json

    data = json.loads(report_render.render(_report(), "json"))
    assert data["counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 0, "info": 0}
    (finding,) = data["findings"]
    assert finding["check"] == "rbac.wildcard_all" and finding["section"] == "rbac"
    assert {"title", "severity", "score", "namespace", "kind", "name", "message", "remediation"} <= set(
        finding
    )
    assert data["sections"][0]["findings"][0]["name"] == "ops-superuser"  # the stored shape is kept
    assert [f["check"] for f in data["excepted"]] == ["images.latest_tag"]  # excepted are not in findings
