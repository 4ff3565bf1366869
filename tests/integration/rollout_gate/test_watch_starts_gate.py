"""``aiops watch`` on Deployments: a new pod template on a Deployment opted in (label and rule) starts a
gate; one that is not opted in starts nothing."""

from __future__ import annotations

import threading
import time

from tests.support.pipeline import Pipeline
from tests.support.rollouts import GOOD, set_image
from workers.sources.rollout_watch import RolloutWatcher
from workers.workflows.rollout_gate import gate as engine


def test_a_new_template_on_an_opted_in_deployment_starts_a_gate(shop: Pipeline) -> None:
    watcher = RolloutWatcher(shop.context, ["shop"])
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not watcher.tracker.templates and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ("shop", "checkout") in watcher.tracker.templates, "the list came first"
        set_image(shop, "registry.example.com/shop/quiet:1.0.1", deployment="quiet")  # not opted in
        set_image(shop, GOOD)
        deadline = time.monotonic() + 15
        while not watcher.started and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        watcher.stopping.set()
        thread.join(timeout=70)
    assert len(watcher.started) == 1, "one job, for the opted-in Deployment"
    store = engine.store_of(shop.context)
    found = shop.work(until=lambda: store.active_for("shop", "checkout"), timeout=30)
    assert (found.deployment, found.trigger, found.state) == ("checkout", "watch", "running")
    assert found.requested_by == "aiops watch"
    assert store.active_for("shop", "quiet") is None
