"""A storm's jobs: each workload's first investigation leads, its other alerts follow in one batch."""

from __future__ import annotations

from workers.spine.intake import storm_order, workload_hint


def alert(pod: str, namespace: str = "shop") -> dict:
    return {"labels": {"alertname": "KubePodCrashLooping", "namespace": namespace, "pod": pod}}


def job(pod: str, rule: str = "pod-crashloop", kind: str = "investigate", namespace: str = "shop") -> dict:
    return {"kind": kind, "args": [alert(pod, namespace), rule], "job_id": f"{kind}-{rule}-{namespace}-{pod}"}


def test_the_workload_is_guessed_from_the_pod_name_of_each_controller() -> None:
    assert workload_hint(alert("checkout-7d9f8b6c5-x2k4p")) == "shop/checkout"
    assert workload_hint(alert("payments-api-5f6d7c8b9d-bx7qz")) == "shop/payments-api"
    assert workload_hint(alert("ledger-2")) == "shop/ledger"  # StatefulSet
    assert workload_hint(alert("node-exporter-q8x7z")) == "shop/node-exporter"  # DaemonSet
    assert workload_hint(alert("debug")) == "shop/debug"  # a bare pod is its own
    assert workload_hint(alert("web-api-server")) == "shop/web-api-server"  # vowels: not a generated suffix
    assert workload_hint(alert("checkout-7d9f8b6c5-x2k4p", "other")) == "other/checkout"
    assert workload_hint({"labels": {"namespace": "shop"}}) is None


def test_leaders_first_then_one_batch_per_workload_and_rule() -> None:
    storm = [job(f"checkout-7d9f8b6c5-x2k{c}p") for c in "bcdfg"]
    storm += [job(f"cart-5c6b7d8d9f-q8x{c}z") for c in "hjk"]
    storm += [job("checkout-7d9f8b6c5-x2kbp", rule="pod-oomkilled")]
    storm += [{"kind": "resolved", "args": [alert("web-1")], "job_id": "resolved-x"}]
    leaders, followers = storm_order(storm)
    assert [j["job_id"] for j in leaders] == [
        storm[0]["job_id"],
        storm[5]["job_id"],
        storm[8]["job_id"],  # another rule is another investigation
        "resolved-x",  # resolutions are never batched
    ]
    assert [[j["job_id"] for j in batch] for batch in followers] == [
        [j["job_id"] for j in storm[1:5]],
        [j["job_id"] for j in storm[6:8]],
    ]
    assert sum(len(batch) for batch in followers) + len(leaders) == len(storm)  # nothing dropped
