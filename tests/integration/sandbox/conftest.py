"""Fixtures for the sandbox cluster tests: a fresh demo cluster per test, and official-client APIs on it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from sandbox.server import SandboxCluster
from tests.support.sandbox_api import DEMO, NOW

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
