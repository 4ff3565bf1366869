"""Fixtures for the reports: a generated sandbox cluster on a frozen clock, a context on a real Redis
and the receiver app with one token per role."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from receiver.app import create_app
from sandbox.server import SandboxCluster
from tests.support.reports import (
    MONDAY,
    ROOT,
    Clock,
    Env,
    make_context,
    tokens,
)
from workers.integrations.kubernetes.client import Kube

"""A Monday 00:00 UTC: when the health report is scheduled."""
"""Nothing listens there: every query is refused at once."""


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-pod, 10-node cluster from ``sandbox.generate``: crash loops, OOM kills, pending pods, NotReady,
    pressured and cordoned nodes, kubelet skew, unavailable Deployments, HPAs at max, blocking PDBs."""
    out = tmp_path_factory.mktemp("reports") / "cluster"
    command = [
        sys.executable,
        "-m",
        "sandbox.generate",
        str(out),
        "--pods",
        "300",
        "--nodes",
        "10",
        "--rbac",
        "10",
        "--seed",
        "3",
        "--now",
        MONDAY.isoformat(),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture
def env(generated: Path, redis_conn: redis.Redis) -> Iterator[Env]:
    clock = Clock(MONDAY)
    cluster = SandboxCluster.from_dir(generated, clock=clock).start()
    try:
        context = make_context(redis_conn, clock, lambda: Kube(cluster.api_client()))
        yield Env(cluster=cluster, context=context, clock=clock, app=create_app(context, tokens()))
    finally:
        cluster.stop()
