"""Fixtures of the rollout-gate tests: the shop sandbox scraped every second by the session's real
Prometheus, real Redis, the receiver app and in-process RQ workers (tests/support/pipeline.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pipeline import Pipeline, build_pipeline, stop_pipeline
from tests.support.rollouts import fast_settings, gate_rules, wait_ready, write_scenario


@pytest.fixture
def shop(redis_conn: Any, redis_server: Any, tmp_path: Path, scrape_slot: Any) -> Iterator[Pipeline]:
    rules = gate_rules(tmp_path / "rules")
    built = build_pipeline(
        write_scenario(tmp_path / "scenario"), redis_conn, redis_server.url, tmp_path, rules, scrape_slot
    )
    try:
        fast_settings(built, rules)
        wait_ready(built)
        wait_ready(built, "quiet")
        yield built
    finally:
        stop_pipeline(built)
