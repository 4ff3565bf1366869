"""The `aiops` command as a user runs it: rules lint/test/schema, refusing to serve without an approver,
a real gunicorn receiver, and the approvals/records verbs against a real Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "rules" / "library"


def aiops(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "receiver.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_rules_lint_clean_library_and_broken_file(tmp_path) -> None:
    assert aiops("rules", "lint", str(LIBRARY)).returncode == 0
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "bad.yaml").write_text(
        "name: bad\nmatch: {alertname: [X]}\nplaybook: pod-failure\n"
        "target: {kind: Pod, namespace: '{{ labels.namespace }}', name: '{{ lables.pod }}'}\n"
        "remediation: {actions: [rm-rf], approval: required}\nvalidate: {after: 1m, for: 5m}\n"
    )
    result = aiops("rules", "lint", str(broken))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith(f"{broken / 'bad.yaml'}:4: ") and "lables" in line for line in lines), lines
    assert any(line.startswith(f"{broken / 'bad.yaml'}:5: ") and "rm-rf" in line for line in lines), lines


def test_rules_schema_and_test(tmp_path) -> None:
    schema = json.loads(aiops("rules", "schema").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"match", "playbook", "remediation", "validate"} <= set(schema["$defs"]["Rule"]["properties"])
    payload = {
        "version": "4",
        "alerts": [
            {
                "status": "firing",
                "startsAt": "2026-11-25T10:00:00Z",
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "namespace": "shop",
                    "pod": "web-1",
                    "container": "app",
                },
            },
            {"status": "firing", "startsAt": "2026-11-25T10:00:00Z", "labels": {"alertname": "Other"}},
        ],
    }
    (tmp_path / "payload.json").write_text(json.dumps(payload))
    alerts = str(tmp_path / "payload.json")
    result = aiops("rules", "test", str(LIBRARY), "--alert", alerts, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [m["rule"] for m in report[0]["matches"]] == ["pod-crashloop"]
    assert report[0]["matches"][0]["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-1"}
    assert 'pod="web-1"' in report[0]["matches"][0]["queries"]["restarts_1h"]
    assert report[1]["matches"] == []
    assert {reason["field"] for item in report[1]["not_matched"] for reason in item["reasons"]} == {
        "match.alertname"
    }
    text = aiops("rules", "test", str(LIBRARY / "pod-crashloop.yaml"), "--alert", alerts)
    assert text.returncode == 0, text.stderr
    assert "  MATCH pod-crashloop: Pod shop/web-1" in text.stdout.splitlines()


def test_serve_refuses_without_an_approver_token(tmp_path, redis_server) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(yaml.safe_dump([{"name": "am", "role": "webhook", "token": "w" * 20}]))
    result = aiops(
        "serve",
        "--port",
        str(free_port()),
        env={"AIOPS_TOKENS_FILE": str(tokens), "REDIS_URL": redis_server.url},
    )
    assert result.returncode == 2
    assert "no token with role approver" in result.stderr


def test_invalid_setting_stops_start_up_naming_it(redis_server) -> None:
    result = aiops(
        "worker", "--burst", env={"REDIS_URL": redis_server.url, "AIOPS_ALERTS_DEDUP_WINDOW_S": "-1"}
    )
    assert result.returncode == 2
    assert "alerts.dedup_window_s (env AIOPS_ALERTS_DEDUP_WINDOW_S)" in result.stderr


@pytest.mark.slow
def test_gunicorn_receiver_and_cli_verbs(tmp_path, redis_server, redis_conn) -> None:
    tokens = tmp_path / "tokens.yaml"
    secrets = {"webhook": "webhook-token-0123456789", "approver": "approver-token-012345678"}
    tokens.write_text(yaml.safe_dump([{"name": f"{r}-1", "role": r, "token": t} for r, t in secrets.items()]))
    port = free_port()
    env = {
        **os.environ,
        "AIOPS_TOKENS_FILE": str(tokens),
        "REDIS_URL": redis_server.url,
        "AIOPS_LOGGING_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=30, proc=server)
        base = f"http://127.0.0.1:{port}"
        for _ in range(50):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
            time.sleep(0.1)
        body = {
            "version": "4",
            "alerts": [
                {
                    "status": "firing",
                    "startsAt": "2026-11-25T10:00:00Z",
                    "fingerprint": "f1",
                    "labels": {
                        "alertname": "KubePodCrashLooping",
                        "namespace": "shop",
                        "pod": "web-1",
                        "container": "app",
                    },
                }
            ],
        }
        response = httpx.post(
            f"{base}/webhooks/alertmanager",
            json=body,
            headers={"Authorization": f"Bearer {secrets['webhook']}"},
            timeout=5,
        )
        assert response.status_code == 202 and response.json()["enqueued"] == 1
        assert (
            httpx.get(
                f"{base}/api/v1/approvals",
                headers={"Authorization": f"Bearer {secrets['webhook']}"},
                timeout=5,
            ).status_code
            == 403
        )
        assert "aiops_alerts_received_total 1.0" in httpx.get(f"{base}/metrics", timeout=5).text

        # The approvals and records verbs go through this receiver's API with a token, not to Redis.
        from tests.integration.core.test_approvals_api import park
        from workers.spine.context import Context

        class _Rules:  # the proposal below is parked by hand; no rule is needed
            current = None

        from workers.settings import Settings

        context = Context(
            settings=Settings.model_validate({"redis": {"url": redis_server.url}}),
            redis=redis_conn,
            rules=_Rules(),
        )  # type: ignore[arg-type]
        park(context)
        (tmp_path / "approver.token").write_text(secrets["approver"])
        cli_env = {"AIOPS_CLI_URL": base, "AIOPS_CLI_TOKEN_FILE": str(tmp_path / "approver.token")}
        listed = aiops("approvals", "list", "--status", "pending", env=cli_env)
        assert listed.returncode == 0 and "p-0001" in listed.stdout, listed.stderr
        approved = aiops("approvals", "approve", "p-0001", "--comment", "ok", "--format", "json", env=cli_env)
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["decided_by"] == "approver-1"
        again = aiops("approvals", "approve", "p-0001", env=cli_env)
        assert again.returncode == 7 and "not pending" in again.stderr
        record = aiops("records", "show", "r-0001", env=cli_env)
        assert record.returncode == 0 and "approval" in record.stdout and "approver-1" in record.stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.slow
def test_cron_process_expires_stale_proposals(redis_server, redis_conn) -> None:
    from rq import SimpleWorker

    from rules.registry import RuleRegistry
    from tests.integration.core.test_approvals_api import park
    from workers.settings import DEFAULT_RULES_DIR, Settings
    from workers.spine import queues
    from workers.spine.context import Context, install

    context = Context(
        settings=Settings.model_validate({"redis": {"url": redis_server.url}}),
        redis=redis_conn,
        rules=RuleRegistry(DEFAULT_RULES_DIR),
    )
    park(context, expires_in=-1)
    env = {
        **os.environ,
        "REDIS_URL": redis_server.url,
        "AIOPS_SCHEDULES_EXPIRE_INTERVAL_S": "1",
        "AIOPS_LOGGING_LEVEL": "WARNING",
    }
    cron = subprocess.Popen(
        [sys.executable, "-m", "receiver.cli", "cron"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        install(context)
        deadline = time.monotonic() + 30
        while context.proposals.get("p-0001").status == "pending" and time.monotonic() < deadline:
            SimpleWorker([queues.queue(queues.ALERTS, redis_conn)], connection=redis_conn).work(
                burst=True, logging_level="WARNING"
            )
            time.sleep(0.3)
        assert context.proposals.get("p-0001").status == "expired"
        assert "expired" in context.records.kinds("r-0001")
    finally:
        os.killpg(cron.pid, signal.SIGTERM)
        cron.wait(timeout=15)
