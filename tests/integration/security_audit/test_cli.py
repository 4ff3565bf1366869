"""``aiops report security`` as a user runs it: KUBECONFIG's cluster, no Redis, each format, exceptions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

from sandbox.server import SandboxCluster
from tests.support.security_audit import EXPECTED, NOW, SCENARIO, SCHEMA

ROOT = Path(__file__).resolve().parents[3]


def _aiops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "receiver.cli", "report", "security", *args]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_cli_audits_the_kubeconfig_cluster_in_every_format(tmp_path: Path) -> None:
    cluster = SandboxCluster.from_dir(SCENARIO, clock=lambda: NOW).start()
    try:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AIOPS_", "REDIS_", "KUBECONFIG"))}
        env = {
            **keep,
            "KUBECONFIG": str(cluster.write_kubeconfig(tmp_path / "kubeconfig")),
            "PROMETHEUS_URL": "http://127.0.0.1:9",
            "HOME": str(tmp_path),
            "AIOPS_SECURITY_ALLOWED_REGISTRIES": "registry.example.com, ghcr.io/acme/",
        }
        done = _aiops("--format", "json", env=env)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        found = {
            (f["check"], f["kind"], f["namespace"], f["name"])
            for s in report["sections"]
            for f in s["findings"]
        }
        assert found == EXPECTED
        for finding in report["sections"][0]["findings"]:
            assert {
                "check",
                "title",
                "severity",
                "score",
                "namespace",
                "kind",
                "name",
                "message",
                "remediation",
            } <= set(finding)
        out = tmp_path / "audit.sarif"
        done = _aiops("--format", "sarif", "--out", str(out), env=env)
        assert done.returncode == 0, done.stderr
        jsonschema.Draft4Validator(SCHEMA).validate(json.loads(out.read_text()))
        done = _aiops("--format", "md", env=env)
        assert done.returncode == 0 and "rbac.cluster_admin" in done.stdout
        assert "hunter2-Sup3rS3cret" not in done.stdout
        bad = tmp_path / "exceptions.yaml"
        bad.write_text("- check: images.latest_tag\n  selector: {name: api}\n")
        done = _aiops("--exceptions", str(bad), env=env)
        assert done.returncode != 0
        assert f"{bad}:1: `reason` is required" in done.stderr
        assert f"{bad}:1: `expires` is required" in done.stderr
    finally:
        cluster.stop()
    assert not (tmp_path / ".local" / "state").exists()  # no embedded Redis was started
