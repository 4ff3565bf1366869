"""Fixtures for the watch source: a sandbox cluster, a real Redis, the receiver app, and ``PodWatcher``
running in a thread against them. Nothing of the project's own is replaced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pipeline import Pipeline, build_pipeline, fast_rules, stop_pipeline
from tests.support.watching import (
    SCENARIOS,
    Watching,
    start_watching,
)

"""The demo's two crash-looping pods in namespace shop."""
"""A crash-looping pod in namespace tools, outside ``--namespace shop``."""


@pytest.fixture
def make_pipeline(redis_conn, redis_server, tmp_path) -> Iterator[Callable[..., Pipeline]]:
    built: list[Pipeline] = []

    def make(scenario: Path | str, slot: Any = None) -> Pipeline:
        path = scenario if isinstance(scenario, Path) else SCENARIOS / scenario
        rules = fast_rules(tmp_path / "rules")
        pipeline = build_pipeline(path, redis_conn, redis_server.url, tmp_path, rules, slot)
        built.append(pipeline)
        return pipeline

    yield make
    for pipeline in built:
        stop_pipeline(pipeline)


@pytest.fixture
def watching(make_pipeline) -> Iterator[Callable[..., Watching]]:
    """Start a watcher on a scenario (a folder name under sandbox/scenarios, or a path)."""
    running: list[Watching] = []

    def start(
        scenario: Path | str, namespaces: list[str] | None = None, slot: Any = None, **settings: Any
    ) -> Watching:
        started = start_watching(make_pipeline(scenario, slot), namespaces, **settings)
        running.append(started)
        return started

    yield start
    for started in running:
        started.stop()
