"""``POST /api/v1/rollouts`` and the reads, with their errors: 400, 401, 403, 404, 409."""

from __future__ import annotations

from tests.support.pipeline import Pipeline, auth
from tests.support.rollouts import GOOD, set_image, start_gate


def _post(shop: Pipeline, body: object, role: str | None = "approver") -> tuple[int, dict]:
    headers = auth(role) if role else {}
    response = shop.client.post("/api/v1/rollouts", json=body, headers=headers)
    return response.status_code, response.get_json()


def test_start_errors(shop: Pipeline) -> None:
    body = {"namespace": "shop", "deployment": "checkout"}
    status, answer = _post(shop, {"namespace": "shop"})
    assert (status, answer["error"], answer["field"]) == (400, "invalid_payload", "deployment")
    assert _post(shop, {"namespace": "shop", "deployment": 3})[0] == 400
    assert _post(shop, ["shop", "checkout"])[0] == 400
    assert _post(shop, body, role=None)[0] == 401
    bad_token = shop.client.post("/api/v1/rollouts", json=body, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    status, answer = _post(shop, body, role="viewer")
    assert (status, answer["error"]) == (403, "forbidden")
    status, answer = _post(shop, {"namespace": "shop", "deployment": "nosuch"})
    assert (status, answer["error"]) == (404, "not_found")
    status, answer = _post(shop, {"namespace": "kube-system", "deployment": "coredns"})
    assert (status, answer["field"]) == (400, "namespace") and "denied" in answer["detail"]

    set_image(shop, GOOD)
    first = start_gate(shop)
    assert first["id"].startswith("g-") and first["state"] == "running"
    status, answer = _post(shop, body)
    assert (status, answer["error"]) == (409, "conflict") and first["id"] in answer["detail"]
    assert len(shop.client.get("/api/v1/rollouts", headers=auth("viewer")).get_json()["items"]) == 1


def test_reads(shop: Pipeline) -> None:
    set_image(shop, GOOD)
    started = start_gate(shop)
    shop.work()
    listing = shop.client.get("/api/v1/rollouts?namespace=shop", headers=auth("viewer"))
    assert listing.status_code == 200
    (item,) = listing.get_json()["items"]
    assert item["id"] == started["id"] and item["rounds"], item
    one = shop.client.get(f"/api/v1/rollouts/{started['id']}", headers=auth("viewer")).get_json()
    keys = {"new_error_rate", "old_error_rate", "new_request_rate", "old_request_rate", "verdict", "reason"}
    assert keys <= set(one["rounds"][0])
    assert shop.client.get("/api/v1/rollouts").status_code == 401
    assert shop.client.get("/api/v1/rollouts/g-nosuch", headers=auth("viewer")).status_code == 404
    assert shop.client.get("/api/v1/rollouts?state=bogus", headers=auth("viewer")).status_code == 400
