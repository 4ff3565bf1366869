"""A 2xx means durably queued: with Redis down the webhook answers 503, and after a restart the retried
payload is queued, with nothing that was acknowledged lost."""

from __future__ import annotations

import json

import redis
from rq import Queue

from receiver.app import create_app
from rules.registry import RuleRegistry
from tests.support.receiver_api import alert, auth, token_book, webhook
from tests.support.servers import RedisServer
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context


def test_webhook_answers_503_while_redis_is_down_and_loses_nothing(tmp_path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        connection = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=2)
        settings = Settings.model_validate({"redis": {"url": server.url}})
        context = Context(settings=settings, redis=connection, rules=RuleRegistry(DEFAULT_RULES_DIR))
        client = create_app(context, token_book()).test_client()

        def send(body):
            return client.post(
                "/webhooks/alertmanager",
                data=json.dumps(body),
                headers=auth("webhook"),
                content_type="application/json",
            )

        first = send(webhook(alert(pod="before-1")))
        assert first.status_code == 202

        server.stop()
        down = send(webhook(alert(pod="during-1")))
        assert down.status_code == 503
        assert down.get_json()["error"] == "unavailable"
        assert down.headers["Retry-After"] == "5"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["checks"]["redis"]["ok"] is False

        server.start()
        # Redis here keeps nothing on disk, like a fresh replica: what matters is the retry is accepted
        # and queued, and the 503'd alert was never marked as seen.
        retried = send(webhook(alert(pod="during-1")))
        assert retried.status_code == 202 and retried.get_json()["enqueued"] == 1
        pods = [job.args[0]["labels"]["pod"] for job in Queue("alerts", connection=connection).get_jobs()]
        assert "during-1" in pods
    finally:
        server.stop()


def test_acknowledged_alerts_survive_a_redis_restart_with_persistence(tmp_path) -> None:
    """With AOF on (as the Helm chart runs it), every 202'd alert is still queued after a restart."""
    import subprocess

    from tests.support.servers import free_port, wait_for_port

    port = free_port()
    workdir = tmp_path / "aof"
    workdir.mkdir()
    argv = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        str(workdir),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc=proc)
        url = f"redis://127.0.0.1:{port}/0"
        connection = redis.Redis.from_url(url)
        context = Context(
            settings=Settings.model_validate({"redis": {"url": url}}),
            redis=connection,
            rules=RuleRegistry(DEFAULT_RULES_DIR),
        )
        client = create_app(context, token_book()).test_client()
        for index in range(5):
            response = client.post(
                "/webhooks/alertmanager", json=webhook(alert(pod=f"pod-{index}")), headers=auth("webhook")
            )
            assert response.status_code == 202
        proc.kill()  # no graceful shutdown
        proc.wait()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(port, proc=proc)
        restarted = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                restarted.ping()
                break
            except redis.exceptions.BusyLoadingError:
                import time

                time.sleep(0.05)
        pods = sorted(
            job.args[0]["labels"]["pod"] for job in Queue("alerts", connection=restarted).get_jobs()
        )
        assert pods == [f"pod-{index}" for index in range(5)]
    finally:
        proc.kill()
        proc.wait()
