"""The other ends of a gate, on the real parts: a good rollout continues; no traffic is inconclusive, never
a pass; a rollout a person paused is left alone; Prometheus going down mid-analysis is inconclusive with
the reason; a gate asked for with no rollout in progress starts with the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.pipeline import Pipeline
from tests.support.rollouts import GOOD, apps, gate, set_image, start_gate, until, until_state

FINAL = {"halted", "continued", "inconclusive", "aborted"}


def _no_proposals(shop: Pipeline) -> None:
    assert shop.proposals() == []


def test_good_rollout_continues_and_is_recorded(shop: Pipeline) -> None:
    set_image(shop, GOOD)
    started = start_gate(shop)
    done = until_state(shop, started["id"], FINAL)
    assert done["state"] == "continued", done
    assert done["rounds"] and all(r["verdict"] == "healthy" for r in done["rounds"][-3:])
    assert done["rounds"][-1]["new_error_rate"] < 0.05 and done["rounds"][-1]["new_request_rate"] > 1
    assert len(done["rounds"]) >= 5, "a round every 2 s over the 20 s window"
    kinds = shop.context.records.kinds(done["record_id"])
    assert "gate_decision" in kinds and "proposal" not in kinds
    _no_proposals(shop)
    assert not apps(shop).read_namespaced_deployment("checkout", "shop").spec.paused


def test_no_traffic_is_inconclusive_never_continued(shop: Pipeline) -> None:
    set_image(shop, "registry.example.com/shop/quiet:1.0.1", deployment="quiet")
    started = start_gate(shop, "quiet")
    done = until_state(shop, started["id"], FINAL)
    assert done["state"] == "inconclusive", done
    assert all(r["verdict"] == "inconclusive" for r in done["rounds"])
    assert "too few requests" in done["reason"] or "no samples" in done["reason"]
    _no_proposals(shop)
    assert not apps(shop).read_namespaced_deployment("quiet", "shop").spec.paused


def test_a_rollout_a_person_paused_is_left_alone(shop: Pipeline) -> None:
    set_image(shop, GOOD)
    started = start_gate(shop)
    apps(shop).patch_namespaced_deployment("checkout", "shop", {"spec": {"paused": True}})
    before = apps(shop).read_namespaced_deployment("checkout", "shop")
    done = until_state(shop, started["id"], FINAL)
    assert done["state"] == "aborted" and "left alone" in done["reason"], done
    after = apps(shop).read_namespaced_deployment("checkout", "shop")
    assert after.spec.paused is True
    assert after.metadata.generation == before.metadata.generation
    assert after.spec.template.spec.containers[0].image == GOOD
    _no_proposals(shop)


def test_prometheus_down_mid_analysis_is_inconclusive(shop: Pipeline, tmp_path: Path) -> None:
    from sandbox.localprom import start_prometheus, wait_for_series

    own = start_prometheus(tmp_path / "own-prom", [shop.cluster.url.removeprefix("http://")])
    try:
        settings = shop.context.settings
        shop.context.settings = settings.model_copy(
            update={"prometheus": settings.prometheus.model_copy(update={"url": own.url, "timeout_s": 2})}
        )
        shop.context.__dict__.pop("prometheus", None)  # the cached client follows the new URL
        wait_for_series(own, 'http_requests_total{namespace="shop"}', samples=3, window="1m")
        set_image(shop, GOOD)
        started = start_gate(shop)

        def healthy_once() -> Any:
            found = gate(shop, started["id"])
            return any(r["verdict"] == "healthy" for r in found["rounds"]) or found["state"] != "running"

        until(shop, healthy_once, timeout=60)
        own.stop()
        done = until_state(shop, started["id"], FINAL)
    finally:
        own.stop()
    assert done["state"] == "inconclusive", done
    assert "prometheus could not answer" in done["reason"]
    assert any(r["verdict"] == "healthy" for r in done["rounds"])
    assert done["rounds"][-1]["verdict"] == "inconclusive"
    _no_proposals(shop)


def test_a_gate_with_no_rollout_waits_for_the_next_one(shop: Pipeline) -> None:
    started = start_gate(shop)
    assert started["state"] == "waiting"
    first = started["new_replicaset"]
    shop.work()
    set_image(shop, GOOD)
    running = until_state(shop, started["id"], {"running"} | FINAL)
    assert running["state"] in {"running", "continued"}
    assert running["new_replicaset"] != first and running["old_replicaset"] == first
