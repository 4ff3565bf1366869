"""Fixtures for the sandbox cluster tests: a fresh demo cluster per test, and official-client APIs on it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.server import SandboxCluster

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo-crashloop"
CRASHING = ("checkout-7d9f8b6c5-q8wzt", "checkout-7d9f8b6c5-x2k4p")
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
"""The frozen base of the test clusters' clock: only ``cluster.advance`` moves it, so counts are exact."""


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A private copy of the demo scenario that a test may edit."""
    return Path(shutil.copytree(DEMO, tmp_path / "demo"))


@pytest.fixture
def cluster() -> Iterator[SandboxCluster]:
    started = SandboxCluster.from_dir(DEMO, clock=lambda: NOW).start()
    yield started
    started.stop()


@pytest.fixture
def api(cluster: SandboxCluster) -> Iterator[client.ApiClient]:
    with cluster.api_client() as api_client:
        yield api_client


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def status_of(exc: Exception) -> dict:
    """The Kubernetes Status object in an ApiException's body."""
    return json.loads(exc.body)


def app_patch(**fields: object) -> dict:
    """A strategic merge patch of the ``app`` container in a Deployment's pod template."""
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", **fields}]}}}}
