"""``aiops report``: one report now, read-only, from KUBECONFIG; the security audit until it exists."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.server import SandboxCluster
from tests.support.reports import DEAD_PROMETHEUS, MONDAY, ROOT


def _aiops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "receiver.cli", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _env(tmp_path: Path, cluster: SandboxCluster) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIOPS_", "REDIS_", "KUBECONFIG"))}
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    # No REDIS_URL and no state directory to share: the one-off run needs neither.
    return {
        **keep,
        "KUBECONFIG": str(kubeconfig),
        "PROMETHEUS_URL": DEAD_PROMETHEUS,
        "HOME": str(tmp_path),
    }


def test_health_report_now_in_each_format(generated: Path, tmp_path: Path) -> None:
    cluster = SandboxCluster.from_dir(generated, clock=lambda: MONDAY).start()
    try:
        env = _env(tmp_path, cluster)
        out = tmp_path / "health.html"
        done = _aiops("report", "health", "--format", "html", "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        assert "wrote the health report health-" in done.stderr and "(html)" in done.stderr
        assert out.read_text().startswith("<!doctype html>")
        done = _aiops("report", "health", "--format", "json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["kind"] == "health" and report["changes"]["previous_id"] is None
        assert next(s for s in report["sections"] if s["id"] == "services")["title"] == "Metrics unavailable"
        done = _aiops("report", "health", env=env)
        assert done.returncode == 0 and done.stdout.startswith("# Cluster health report health-")
        done = _aiops("report", "health", "--format", "sarif", env=env)
        assert done.returncode == 2 and "the health report is json, md or html" in done.stderr
        done = _aiops("report", "health", "--exceptions", str(out), env=env)
        assert done.returncode == 2 and "only `aiops report security` takes an exceptions file" in done.stderr
    finally:
        cluster.stop()
    assert not (tmp_path / ".local" / "state").exists()  # no embedded Redis was started


def test_a_report_kind_without_a_workflow_says_it_is_not_available(tmp_path: Path) -> None:
    from receiver.report_cli import ReportUnavailable, run
    from workers.settings import Settings
    from workers.spine.registry import Registry
    from workers.workflows import health_report

    args = argparse.Namespace(kind="security", format="sarif", out=None, exceptions=None)
    with pytest.raises(ReportUnavailable) as caught:  # an installation whose registry has no audit
        run(Settings(), args, Registry.of([], [health_report.WORKFLOW]))
    assert str(caught.value) == "the security report is not available in this version (available: health)"
