"""Fixtures for whole-pipeline tests on the demo scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pipeline import build_pipeline, fast_rules, stop_pipeline

SCENARIOS = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios"


@pytest.fixture
def pipeline(redis_conn, redis_server, tmp_path, scrape_slot):
    rules = fast_rules(tmp_path / "rules")
    built = build_pipeline(
        SCENARIOS / "demo-crashloop", redis_conn, redis_server.url, tmp_path, rules, scrape_slot
    )
    yield built
    stop_pipeline(built)
