"""Fixtures for the page tests in a real browser: the whole responder on the sandbox's OOM scenario (real
Redis, real Prometheus, in-process RQ workers), its receiver served over HTTP on loopback, and a headless
Chromium (tests/support/browser.py) stopped by pid after each test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.browser import CHROMIUM, DRIVER, MISSING, Browser, start_browser, stop_browser
from tests.support.pipeline import Pipeline, build_pipeline, crash_alert, fast_rules, stop_pipeline
from tests.support.served import ServedApp
from workers.domain import Proposal

SCENARIO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "oom-checkout"

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason=MISSING)


@dataclass
class Site:
    pipeline: Pipeline
    url: str

    def park(self) -> Proposal:
        """The scenario's alert, investigated by a real worker: one pending proposal."""
        wanted = yaml.safe_load((SCENARIO / "scenario.yaml").read_text())["expect"]["alert"]
        self.pipeline.post_alerts(
            crash_alert(wanted["pod"], wanted["namespace"], wanted["container"], wanted["alertname"])
        )
        found: list[Proposal] = self.pipeline.work(until=lambda: self.pipeline.proposals("pending"))
        return found[0]


@pytest.fixture
def site(redis_conn: Any, redis_server: Any, tmp_path: Path, scrape_slot: Any) -> Iterator[Site]:
    pipeline = build_pipeline(
        SCENARIO, redis_conn, redis_server.url, tmp_path, fast_rules(tmp_path / "rules"), scrape_slot
    )
    try:
        with ServedApp(pipeline.app) as served:
            yield Site(pipeline, served.url)
    finally:
        stop_pipeline(pipeline)


@pytest.fixture
def browser(site: Site, tmp_path: Path) -> Iterator[Browser]:
    started = start_browser(site.url, tmp_path / "chromium-profile")
    try:
        yield started
    finally:
        stop_browser(started)
