"""Alerts Alertmanager leaves out of a notification (max_alerts, truncatedAlerts) are counted in /metrics
(in Redis, so every replica agrees), logged naming the group, shown in /readyz and on the pages; and a
missing notify.public_url is reported in /readyz instead of guessed, readiness unaffected."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from receiver.app import create_app
from tests.integration.core.test_alertmanager import Recorder, wait_until
from tests.support.receiver_api import TOKENS, alert, auth, park, token_book, webhook
from tests.support.served import ServedApp
from tests.support.servers import start_alertmanager
from tests.support.ui_pages import sign_in
from workers.settings import Settings
from workers.spine.context import Context

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def truncated_total(client) -> float:
    found = re.search(
        r"^aiops_alerts_truncated_total (\S+)$", client.get("/metrics").get_data(as_text=True), re.M
    )
    return float(found.group(1)) if found else 0.0


def test_a_truncated_notification_is_counted_logged_and_shown(client, caplog) -> None:
    body = webhook(alert(pod="web-1"), alert(pod="web-2"))
    body.update(
        truncatedAlerts=2,
        receiver="aiops",
        groupKey='{}:{alertname="KubePodCrashLooping", namespace="shop"}',
        groupLabels={"alertname": "KubePodCrashLooping", "namespace": "shop"},
    )
    assert "aiops_alerts_truncated_total 0.0" in client.get("/metrics").get_data(as_text=True)
    assert client.get("/readyz").get_json()["checks"]["alerts_truncated"] == {"ok": True, "last": None}
    with caplog.at_level(logging.WARNING, logger="aiops.webhook"):
        response = client.post("/webhooks/alertmanager", json=body, headers=auth("webhook"))
    assert response.status_code == 202
    assert response.get_json()["truncatedAlerts"] == 2 and response.get_json()["enqueued"] == 2
    assert truncated_total(client) == 2.0
    warning = next(r.getMessage() for r in caplog.records if r.name == "aiops.webhook")
    assert "left 2 alert(s) out" in warning and 'namespace="shop"' in warning
    assert '"namespace": "shop"' in warning and "max_alerts: 0" in warning

    # Anyone may probe readiness: the count and time, not the group's labels.
    public = client.get("/readyz")
    assert public.status_code == 200 and public.get_json()["status"] == "ready"
    check = public.get_json()["checks"]["alerts_truncated"]
    assert check["ok"] is True and check["last"]["truncated"] == 2 and check["last"]["received"] == 2
    assert "groupLabels" not in check["last"] and "shop" not in check["detail"]
    assert "Set max_alerts: 0" in check["detail"]
    shown = client.get("/readyz", headers=auth("viewer")).get_json()["checks"]["alerts_truncated"]
    assert shown["last"]["groupLabels"] == {"alertname": "KubePodCrashLooping", "namespace": "shop"}
    assert '"namespace": "shop"' in shown["detail"]

    # A repeat adds to the count; a payload without truncation leaves it.
    again = {**body, "alerts": [alert(pod="web-3")], "truncatedAlerts": 1}
    assert client.post("/webhooks/alertmanager", json=again, headers=auth("webhook")).status_code == 202
    plain = webhook(alert(pod="web-4"))
    assert client.post("/webhooks/alertmanager", json=plain, headers=auth("webhook")).status_code == 202
    assert truncated_total(client) == 3.0
    last = client.get("/readyz").get_json()["checks"]["alerts_truncated"]["last"]
    assert last["truncated"] == 1


@pytest.mark.parametrize(
    "path", ["/ui/approvals", "/ui/approvals/p-0001", "/ui/records", "/ui/records/r-0001"]
)
def test_pages_keep_the_csp_show_the_banner_and_link_records(client, context, path) -> None:
    park(context)
    body = webhook(alert(pod="web-1"))
    body.update(truncatedAlerts=3, groupLabels={"alertname": "KubePodCrashLooping", "namespace": "shop"})
    assert client.post("/webhooks/alertmanager", json=body, headers=auth("webhook")).status_code == 202
    sign_in(client, TOKENS["viewer"])
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == CSP
    html = page.get_data(as_text=True)
    assert 'id="truncated-banner"' in html and "Alertmanager left 3 alert(s) of group" in html
    assert 'href="/ui/records"' in html and 'href="/ui/approvals"' in html
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    if path != "/ui/records/r-0001":
        assert 'href="/ui/records/r-0001"' in html
    else:
        assert 'href="/ui/approvals/p-0001"' in html


def test_readyz_says_links_are_relative_without_a_public_url(client, context) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "ready"
    notify = ready.get_json()["checks"]["notify"]
    assert notify["ok"] is True and notify["public_url"] is None
    assert "notify.public_url (env AIOPS_NOTIFY_PUBLIC_URL) is not set" in notify["detail"]

    settings = Settings.model_validate(
        {"redis": context.settings.redis.model_dump(), "notify": {"public_url": "https://aiops.example.org"}}
    )
    configured = Context(settings=settings, redis=context.redis, rules=context.rules)
    checked = create_app(configured, token_book()).test_client().get("/readyz").get_json()["checks"]["notify"]
    assert checked == {"ok": True, "public_url": "https://aiops.example.org"}


def test_real_alertmanager_with_max_alerts_three_and_five_alerts(context, tmp_path) -> None:
    recorder = Recorder(create_app(context, token_book()))
    with ServedApp(recorder) as app:
        am = start_alertmanager(
            tmp_path / "am", f"{app.url}/webhooks/alertmanager", TOKENS["webhook"], max_alerts=3
        )
        try:
            # One group (alertname, namespace, pod), five alerts: five containers of one crash-looping pod.
            alerts = [
                {
                    "labels": {
                        "alertname": "KubePodCrashLooping",
                        "namespace": "shop",
                        "pod": "web-1",
                        "container": f"c{index}",
                    },
                    "annotations": {"summary": "crash looping"},
                }
                for index in range(5)
            ]
            assert httpx.post(f"{am.url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200

            def five_seen() -> list[dict]:
                bodies = [json.loads(r["body"]) for r in recorder.requests if r["statuses"]]
                return (
                    bodies if any(len(b["alerts"]) + b.get("truncatedAlerts", 0) == 5 for b in bodies) else []
                )

            bodies = wait_until(five_seen)
        finally:
            am.stop()
        full = next(b for b in bodies if len(b["alerts"]) + b.get("truncatedAlerts", 0) == 5)
        assert len(full["alerts"]) == 3 and full["truncatedAlerts"] == 2
        client = recorder.app.test_client()
        # Every truncated alert Alertmanager reported is counted, whatever its batching.
        assert truncated_total(client) == float(sum(b.get("truncatedAlerts", 0) for b in bodies))
        check = client.get("/readyz", headers=auth("viewer")).get_json()["checks"]["alerts_truncated"]
        assert check["last"]["groupLabels"] == {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": "web-1",
        }
        assert check["last"]["groupKey"] == full["groupKey"]
