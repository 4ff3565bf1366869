"""A scheduled run on a fixed clock: cron registers both weekly reports, the cron job enqueues the run,
a real worker makes the report, stores it, records and notifies; the API serves it as json, md and html."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import redis
from rq import Queue
from rq.job import JobStatus
from rq.registry import ScheduledJobRegistry

from sandbox.kubeconfig import api_client as sandbox_api_client
from tests.support.reports import MONDAY, Env, auth
from workers.integrations.kubernetes.client import Kube
from workers.runner.cron import build_scheduler
from workers.runner.worker import build_worker
from workers.spine import queues
from workers.spine.context import install
from workers.spine.reports import REPORT_OPTIONS, ReportStore, report_job

DEAD_KUBE = "http://127.0.0.1:9"


def test_cron_registers_both_weekly_reports(env: Env) -> None:
    scheduler = build_scheduler(env.context, env.context.settings)
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert jobs["health-report"].cron == "0 0 * * 1" and jobs["health-report"].args == ("health",)
    assert jobs["security-report"].cron == "0 0 * * 5" and jobs["security-report"].args == ("security",)
    assert jobs["health-report"].queue_name == queues.REPORTS
    # RQ matches cron fields in local time: the next run is a Monday (Friday) at 00:00 there.
    health, security = (
        jobs["health-report"].next_enqueue_time,
        jobs["security-report"].next_enqueue_time,
    )
    assert health is not None and security is not None
    assert (health.astimezone().weekday(), health.astimezone().hour) == (0, 0)
    assert (security.astimezone().weekday(), security.astimezone().hour) == (4, 0)


def test_scheduled_run_stores_records_notifies_and_serves(env: Env) -> None:
    scheduler = build_scheduler(env.context, env.context.settings)
    cron_job = next(job for job in scheduler.get_jobs() if job.name == "health-report")
    cron_job.enqueue(env.context.redis)  # what the scheduler does at Monday 00:00
    install(env.context)
    build_worker(env.context, [queues.REPORTS]).work(burst=True, logging_level="WARNING")
    assert Queue(queues.REPORTS, connection=env.context.redis).count == 0

    store = ReportStore(env.context.redis, env.context.clock, env.context.settings.reports)
    listed = store.list(kind="health")
    assert [item["id"] for item in listed] == ["health-20261130T000000Z"]
    report = store.get("health-20261130T000000Z")
    assert report.period_end == MONDAY.isoformat() and report.period_start == "2026-11-23T00:00:00+00:00"
    assert {s.id for s in report.sections} == {
        "pods",
        "nodes",
        "workloads",
        "capacity",
        "services",
        "compliance",
    }
    compliance = next(s for s in report.sections if s.id == "compliance")
    assert compliance.summary["compliant"] is True and compliance.score is None  # no action ran this week
    checks = {f.check for f in report.findings()}
    assert {
        "pods.crashlooping",
        "nodes.not_ready",
        "workloads.unavailable",
        "workloads.hpa_at_max",
        "workloads.pdb_blocking",
    } <= checks
    assert report.score is not None and report.grade in ("A", "B", "C", "D", "F")
    assert report.changes["previous_id"] is None

    record = env.context.records.get(report.record_id or "")
    kinds = [entry["kind"] for entry in record["entries"]]
    assert kinds == ["report_started", "report_stored"]
    stored = record["entries"][-1]["data"]
    assert stored["link"] == "https://aiops.example.com/ui/reports/health-20261130T000000Z"
    assert stored["notified"] == [{"sink": "log", "ok": True}]

    client = env.client
    listing = client.get("/api/v1/reports?kind=health", headers=auth("viewer"))
    assert listing.status_code == 200 and listing.get_json()["items"][0]["id"] == report.id
    as_json = client.get(f"/api/v1/reports/{report.id}", headers=auth("viewer"))
    assert as_json.status_code == 200 and json.loads(as_json.data)["id"] == report.id
    as_md = client.get(f"/api/v1/reports/{report.id}?format=md", headers=auth("viewer"))
    assert as_md.mimetype == "text/markdown"
    text = as_md.get_data(as_text=True)
    assert text.startswith(f"# Cluster health report {report.id}") and "## Critical and high findings" in text
    as_html = client.get(f"/api/v1/reports/{report.id}?format=html", headers=auth("viewer"))
    assert as_html.mimetype == "text/html"
    assert as_html.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = as_html.get_data(as_text=True)
    assert "<svg" in page and 'id="critical"' in page
    assert not any(ref in page for ref in ("src=", "href=", "url(", "@import"))  # nothing to fetch


def test_a_failed_run_is_recorded_and_retried(env: Env, redis_conn: redis.Redis) -> None:
    cluster_kube = env.context.kube_factory
    assert cluster_kube is not None
    dead = Kube(sandbox_api_client(DEAD_KUBE))
    holder: dict[str, Any] = {"kube": lambda: dead}

    def kube() -> Any:
        return holder["kube"]()  # each job's forked worker calls it anew

    env.context.kube_factory = kube
    install(env.context)
    queue = queues.queue(queues.REPORTS, redis_conn)
    job = queue.enqueue_call(report_job, args=("health",), **queues.rq_options(REPORT_OPTIONS))
    build_worker(env.context, [queues.REPORTS]).work(burst=True, logging_level="WARNING")
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == 2  # RQ retries it later
    record_id = "report-health-20261130T000000Z"
    entries = env.context.records.get(record_id)["entries"]
    assert [e["kind"] for e in entries] == ["report_started", "report_failed"]
    assert "the Kubernetes API could not be read" in entries[-1]["data"]["error"]
    assert ReportStore(redis_conn, env.clock, env.context.settings.reports).list() == []

    holder["kube"] = cluster_kube  # the API server is back; the retry is due now
    ScheduledJobRegistry(queue=queue).schedule(job, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    build_worker(env.context, [queues.REPORTS]).work(burst=True, with_scheduler=True, logging_level="WARNING")
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    entries = env.context.records.get(record_id)["entries"]
    assert [e["kind"] for e in entries] == [
        "report_started",
        "report_failed",
        "report_started",
        "report_stored",
    ]
    assert [
        item["id"] for item in ReportStore(redis_conn, env.clock, env.context.settings.reports).list()
    ] == ["health-20261130T000000Z"]
