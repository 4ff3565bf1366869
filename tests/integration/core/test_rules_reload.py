"""An invalid rule set on reload: the last good set stays active and the error shows in /readyz,
/metrics and the logs; fixing the file clears it."""

from __future__ import annotations

import logging
import shutil

from receiver.app import create_app
from rules.registry import RuleRegistry
from tests.support.receiver_api import alert, auth, token_book, webhook
from workers.settings import DEFAULT_RULES_DIR
from workers.spine.context import Context


def test_invalid_rules_on_reload_keep_the_last_good_set(settings, redis_conn, tmp_path, caplog) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    registry = RuleRegistry(rules_dir)
    context = Context(settings=settings, redis=redis_conn, rules=registry)
    client = create_app(context, token_book()).test_client()

    good = (rules_dir / "pod-crashloop.yaml").read_text()
    (rules_dir / "pod-crashloop.yaml").write_text(good.replace("restart-pod]", "run-shell]"))
    with caplog.at_level(logging.WARNING):
        assert registry.reload() is False
    assert "run-shell" in (registry.error or "")
    assert any("run-shell" in record.getMessage() for record in caplog.records)

    ready = client.get("/readyz", headers=auth("viewer"))  # the error's text is for viewers only
    assert ready.status_code == 200  # still serving with the previous rules
    rules_check = ready.get_json()["checks"]["rules"]
    library = len(list(DEFAULT_RULES_DIR.glob("*.yaml")))  # the previous set, whole
    assert (
        rules_check["ok"] is False
        and "run-shell" in rules_check["detail"]
        and rules_check["loaded"] == library
    )
    assert "aiops_rules_last_reload_ok 0.0" in client.get("/metrics").get_data(as_text=True)
    response = client.post("/webhooks/alertmanager", json=webhook(alert()), headers=auth("webhook"))
    assert response.get_json()["enqueued"] == 1  # matched by the last good pod-crashloop rule

    (rules_dir / "pod-crashloop.yaml").write_text(good)
    registry.reload()  # the same content as the active set: nothing new to activate, the error clears
    assert registry.error is None
    assert client.get("/readyz").get_json()["checks"]["rules"]["ok"] is True
