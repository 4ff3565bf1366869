"""The reports API: who may read, unknown ids, bad formats and kinds; and the store's bounds."""

from __future__ import annotations

import datetime as dt

import redis

from tests.support.reports import TOKENS, Env, auth
from tests.support.ui_pages import sign_in
from workers.domain import Finding, Report, Section, Severity
from workers.settings import ReportSettings
from workers.spine.report_render import CSP, render_html
from workers.spine.reports import ReportStore, run_report


def test_reports_need_a_token(env: Env) -> None:
    report = run_report(env.context, "health")
    for path in (
        "/api/v1/reports",
        f"/api/v1/reports/{report.id}",
        f"/api/v1/reports/{report.id}?format=html",
    ):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}):
            response = env.client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.get_json()["error"] == "unauthorized"
    assert env.client.get("/api/v1/reports", headers=auth("approver")).status_code == 200


def test_unknown_report_is_404_and_bad_queries_are_400(env: Env) -> None:
    report = run_report(env.context, "health")
    missing = env.client.get("/api/v1/reports/health-19990101T000000Z", headers=auth("viewer"))
    assert missing.status_code == 404
    assert missing.get_json() == {
        "error": "not_found",
        "detail": "no report health-19990101T000000Z",
    }
    for query, field in (("format=pdf", "format"), ("format=sarif", "format")):
        bad = env.client.get(f"/api/v1/reports/{report.id}?{query}", headers=auth("viewer"))
        assert bad.status_code == 400 and bad.get_json()["field"] == field
        assert bad.get_json()["detail"] == "format: must be one of json, md, html"
    for query, field in (("kind=nope", "kind"), ("limit=0", "limit"), ("limit=x", "limit")):
        bad = env.client.get(f"/api/v1/reports?{query}", headers=auth("viewer"))
        assert bad.status_code == 400 and bad.get_json()["field"] == field, query
    assert env.client.get("/api/v1/reports?kind=security", headers=auth("viewer")).get_json() == {"items": []}


def test_reports_page_lists_and_links(env: Env) -> None:
    client = env.client  # one browser: its session cookie is kept between requests
    assert client.get("/ui/reports").status_code == 303  # to the sign-in page
    report = run_report(env.context, "health")
    sign_in(client, TOKENS["viewer"], "/ui/reports")
    page = client.get("/ui/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'href="/ui/reports/{report.id}"' in html
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]  # the pages' own CSP
    shown = client.get(f"/ui/reports/{report.id}")
    assert shown.status_code == 200 and f'href="/ui/reports/{report.id}/page"' in shown.get_data(as_text=True)
    full = client.get(f"/ui/reports/{report.id}/page")
    assert full.status_code == 200 and full.get_data(as_text=True) == render_html(report)
    assert full.headers["Content-Security-Policy"] == CSP  # the report's own page: inline styles, no script
    assert client.get("/ui/reports/health-19990101T000000Z").status_code == 404


def _report(index: int, findings: int = 0, evidence: str = "") -> Report:
    moment = dt.datetime(2026, 1, 5, tzinfo=dt.UTC) + dt.timedelta(days=7 * index)
    return Report(
        id=f"health-{index}",
        kind="health",
        period_start="",
        period_end=moment.isoformat(),
        generated_at=moment.isoformat(),
        sections=[
            Section(
                id="pods",
                title="Pods",
                findings=[
                    Finding(
                        check="pods.x",
                        title="x",
                        severity=Severity.high if n % 10 == 0 else Severity.low,
                        name=f"pod-{n}",
                        message=f"pod-{n} is odd",
                        evidence={"blob": evidence},
                    )
                    for n in range(findings)
                ],
            )
        ],
    )


def test_store_keeps_at_most_max_per_kind(redis_conn: redis.Redis) -> None:
    clock = lambda: dt.datetime(2026, 3, 1, tzinfo=dt.UTC)  # noqa: E731
    store = ReportStore(redis_conn, clock, ReportSettings(max_per_kind=3))
    for index in range(5):
        store.save(_report(index))
    assert [item["id"] for item in store.list(kind="health")] == [
        "health-4",
        "health-3",
        "health-2",
    ]
    assert not redis_conn.exists("aiops:report:health-0")


def test_store_trims_a_report_over_the_size_bound(redis_conn: redis.Redis) -> None:
    clock = lambda: dt.datetime(2026, 3, 1, tzinfo=dt.UTC)  # noqa: E731
    store = ReportStore(redis_conn, clock, ReportSettings(max_bytes=20_000))
    stored = store.save(_report(1, findings=400, evidence="x" * 200))
    assert len(stored.model_dump_json()) <= 20_000
    kept = stored.sections[0].findings
    assert kept and all(f.evidence == {} for f in kept)
    assert sum(1 for f in kept if f.severity == Severity.high) == 40  # the least severe went first
    assert stored.notes[-1].startswith(
        "trimmed to the size bound of 20000 bytes: evidence of findings left out"
    )
    assert f"the {400 - len(kept)} least severe findings" in stored.notes[-1]
    assert store.get("health-1") == stored
