"""A real Alertmanager posts to the receiver: proves we accept its actual payload and auth, end to end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rq import Queue

from receiver.app import create_app
from tests.support.receiver_api import TOKENS, token_book
from tests.support.served import ServedApp
from tests.support.servers import start_alertmanager


class Recorder:
    """Wraps the receiver app to keep the raw requests Alertmanager sent."""

    def __init__(self, app) -> None:
        self.app = app
        self.requests: list[dict] = []

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/webhooks/alertmanager":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            import io

            environ["wsgi.input"] = io.BytesIO(body)
            captured = {
                "body": body,
                "auth": environ.get("HTTP_AUTHORIZATION"),
                "type": environ.get("CONTENT_TYPE"),
                "statuses": [],
            }
            self.requests.append(captured)

            def recording_start(status, headers, exc_info=None):
                captured["statuses"].append(status)
                return start_response(status, headers, exc_info)

            return self.app(environ, recording_start)
        return self.app(environ, start_response)


def wait_until(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def served(context):
    recorder = Recorder(create_app(context, token_book()))
    with ServedApp(recorder) as served_app:
        yield served_app, recorder


def test_alertmanager_delivers_and_we_queue_exactly_one_investigation(served, context, tmp_path) -> None:
    import json

    app, recorder = served
    am = start_alertmanager(tmp_path / "am", f"{app.url}/webhooks/alertmanager", TOKENS["webhook"])
    try:
        starts = datetime.now(UTC) - timedelta(minutes=20)
        alerts = [
            {
                "labels": {
                    "alertname": "KubePodCrashLooping",
                    "namespace": "shop",
                    "pod": "checkout-7d9f-abcde",
                    "container": "app",
                    "severity": "warning",
                },
                "annotations": {"summary": "crash looping"},
                "startsAt": starts.isoformat(),
                "generatorURL": "http://prometheus/graph?g0.expr=x",
            },
            {
                "labels": {"alertname": "NoRuleForThis", "namespace": "shop", "pod": "x"},
                "startsAt": starts.isoformat(),
            },
        ]
        assert httpx.post(f"{am.url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
        wait_until(lambda: len(recorder.requests) >= 2 and all(r["statuses"] for r in recorder.requests))
        received = [json.loads(request["body"]) for request in recorder.requests]
        assert all(request["auth"] == f"Bearer {TOKENS['webhook']}" for request in recorder.requests)
        assert all(request["type"].startswith("application/json") for request in recorder.requests)
        assert [request["statuses"] for request in recorder.requests] == [["202 ACCEPTED"]] * len(
            recorder.requests
        )
        assert {payload["version"] for payload in received} == {"4"}
        names = sorted(payload["alerts"][0]["labels"]["alertname"] for payload in received)
        assert names == ["KubePodCrashLooping", "NoRuleForThis"]
        crash = next(p for p in received if p["alerts"][0]["labels"]["alertname"] == "KubePodCrashLooping")
        assert (
            crash["alerts"][0]["endsAt"].startswith("0001-01-01") or crash["alerts"][0]["status"] == "firing"
        )
        assert crash["alerts"][0]["fingerprint"]

        jobs = Queue("alerts", connection=context.redis).get_jobs()
        assert [(job.func_name, job.args[1]) for job in jobs] == [
            ("workers.spine.investigation.investigate_job", "pod-crashloop")
        ]
        assert jobs[0].args[0]["fingerprint"] == crash["alerts"][0]["fingerprint"]

        # Alertmanager re-sends the same alert on its group interval: still one investigation.
        assert httpx.post(f"{am.url}/api/v2/alerts", json=alerts[:1], timeout=5).status_code == 200
        time.sleep(2.5)
        assert len(Queue("alerts", connection=context.redis).get_jobs()) == 1

        # Resolving it reaches us as status=resolved with a real endsAt.
        resolved = [{**alerts[0], "endsAt": datetime.now(UTC).isoformat()}]
        assert httpx.post(f"{am.url}/api/v2/alerts", json=resolved, timeout=5).status_code == 200

        def resolved_arrived():
            for request in recorder.requests:
                payload = json.loads(request["body"])
                if payload["alerts"][0]["status"] == "resolved":
                    return payload
            return None

        payload = wait_until(resolved_arrived)
        assert not payload["alerts"][0]["endsAt"].startswith("0001")
    finally:
        am.stop()
