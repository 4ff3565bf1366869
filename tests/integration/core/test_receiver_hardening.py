"""Receiver hardening from issue 9: payload bounds answered 400 with nothing stored, nesting that used to
be a 500, security headers on every answer, the rule-reload error only for viewers, and the store's
memory in /metrics."""

from __future__ import annotations

import shutil

import pytest

from receiver.app import SECURITY_HEADERS, create_app
from rules.registry import RuleRegistry
from tests.support.receiver_api import alert, auth, park, token_book, webhook
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine import counters
from workers.spine.context import Context


def stored_keys(redis_conn) -> set[bytes]:
    return set(redis_conn.keys("*")) - {counters.KEY.encode()}


def test_deep_nesting_is_400_not_500(client, redis_conn) -> None:
    body = b'{"version": "4", "alerts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(
        "/webhooks/alertmanager",
        data=body,
        headers={**auth("webhook"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_payload",
        "detail": "body is nested deeper than 200 levels",
    }
    assert stored_keys(redis_conn) == set()


def test_oversized_annotation_is_refused_naming_it_and_nothing_is_kept(client, redis_conn) -> None:
    alerts = [alert(pod=f"checkout-{i}") for i in range(5)]
    alerts[3]["annotations"] = {"description": "x" * 900_000}
    response = client.post("/webhooks/alertmanager", json=webhook(*alerts), headers=auth("webhook"))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_payload",
        "detail": "alerts[3].annotations.description: longer than 16384 characters",
        "field": "alerts[3].annotations.description",
    }
    assert stored_keys(redis_conn) == set()  # no job, no dedup marker, no record


def test_limits_come_from_the_settings(redis_server, redis_conn) -> None:
    settings = Settings.model_validate(
        {"redis": {"url": redis_server.url}, "limits": {"max_labels_per_alert": 3}}
    )
    context = Context(settings=settings, redis=redis_conn, rules=RuleRegistry(DEFAULT_RULES_DIR))
    client = create_app(context, token_book()).test_client()
    response = client.post("/webhooks/alertmanager", json=webhook(alert()), headers=auth("webhook"))
    assert response.status_code == 400
    assert response.get_json()["detail"] == "alerts[0].labels: more than the limit of 3 entries"


@pytest.mark.parametrize(
    ("method", "path", "role", "status"),
    [
        ("GET", "/healthz", None, 200),
        ("GET", "/readyz", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/api/v1/openapi.json", None, 200),
        ("GET", "/api/v1/approvals", "viewer", 200),
        ("GET", "/api/v1/approvals", None, 401),
        ("GET", "/api/v1/approvals/p-nope", "viewer", 404),
        ("GET", "/ui/approvals", None, 303),  # to the sign-in page
        ("GET", "/ui/sign-in", None, 200),
        ("GET", "/no/such/page", None, 404),
        ("POST", "/webhooks/alertmanager", "webhook", 202),
        ("POST", "/webhooks/alertmanager", "viewer", 403),
    ],
)
def test_every_answer_carries_the_security_headers(client, method, path, role, status) -> None:
    headers = auth(role) if role else {}
    kwargs = {"json": webhook(alert())} if method == "POST" else {}
    response = client.open(path, method=method, headers=headers, **kwargs)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert SECURITY_HEADERS == {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def test_rule_reload_error_details_need_a_viewer_token(settings, redis_conn, tmp_path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    registry = RuleRegistry(rules_dir)
    client = create_app(
        Context(settings=settings, redis=redis_conn, rules=registry), token_book()
    ).test_client()
    good = (rules_dir / "pod-crashloop.yaml").read_text()
    (rules_dir / "pod-crashloop.yaml").write_text(good.replace("restart-pod]", "run-shell]"))
    assert registry.reload() is False

    anonymous = client.get("/readyz").get_json()["checks"]["rules"]
    assert anonymous["ok"] is False
    assert anonymous["detail"].startswith("rules: last reload failed (1 problem)")
    assert "run-shell" not in anonymous["detail"] and "pod-crashloop" not in anonymous["detail"]
    wrong = client.get("/readyz", headers={"Authorization": "Bearer not-a-token-at-all"}).get_json()
    assert "run-shell" not in wrong["checks"]["rules"]["detail"]
    for role in ("viewer", "approver"):
        full = client.get("/readyz", headers=auth(role)).get_json()["checks"]["rules"]["detail"]
        assert "run-shell" in full and "pod-crashloop.yaml" in full


def test_metrics_show_redis_memory_and_records(client, context, redis_conn) -> None:
    for index in range(3):
        park(context, pid=f"p-000{index}", fingerprint=f"fp-{index}")
    text = client.get("/metrics").get_data(as_text=True)
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    info = redis_conn.info("memory")
    assert 0 < values["aiops_redis_used_memory_bytes"] <= info["used_memory"] * 2
    assert values["aiops_redis_maxmemory_bytes"] == float(info["maxmemory"])
    assert values["aiops_records"] == 3.0
    assert values["aiops_records_bytes"] > 0

    # Measured at most once a minute: a new record shows after the figures age out.
    park(context, pid="p-0009", fingerprint="fp-9")
    assert counters.store_usage(redis_conn).records == 3
    redis_conn.delete(counters.USAGE_KEY)
    usage = counters.store_usage(redis_conn)
    assert usage.records == 4 and usage.record_bytes > values["aiops_records_bytes"]


def test_alerts_about_the_own_namespace_are_never_acted_on(redis_server, redis_conn) -> None:
    from workers.spine import investigation
    from workers.spine.context import install
    from workers.spine.investigation import investigation_id

    settings = Settings.model_validate({"redis": {"url": redis_server.url}, "namespaces": {"own": "aiops"}})
    context = Context(settings=settings, redis=redis_conn, rules=RuleRegistry(DEFAULT_RULES_DIR))
    install(context)
    own = alert(pod="aiops-worker-1", namespace="aiops")
    assert investigation.investigate_job(own, "pod-crashloop") is None
    record = context.records.get(f"r-{investigation_id('pod-crashloop', own)}")
    skipped = [entry["data"] for entry in record["entries"] if entry["kind"] == "skipped"]
    assert skipped == [{"reason": "namespace aiops is denied by settings"}]
    assert context.proposals.count_by_status()["pending"] == 0
