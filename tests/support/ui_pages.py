"""Signing in to the web pages from Flask's test client, as a browser does: the form, its CSRF token, the
session cookie the answer sets."""

from __future__ import annotations

import re
from typing import Any

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: Any, token: str, next_path: str = "/ui/approvals") -> str:
    """Sign ``client`` in with ``token``; returns the session's CSRF token (from the page it lands on)."""
    form = client.get(f"/ui/sign-in?next={next_path}")
    assert form.status_code == 200, form.status_code
    answer = client.post(
        "/ui/sign-in", data={"csrf": csrf_of(form.get_data(as_text=True)), "token": token, "next": next_path}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    landed = client.get(answer.headers["Location"])
    assert landed.status_code == 200, landed.status_code
    return csrf_of(landed.get_data(as_text=True))


def stored_gate(context: Any, proposal_id: str, record_id: str = "r-gate-1") -> Any:
    """A halted rollout gate with three analysis rounds, stored as the gate engine stores one."""
    from workers.clock import iso
    from workers.workflows.rollout_gate import gate as engine
    from workers.workflows.rollout_gate.config import config_for
    from workers.workflows.rollout_gate.model import Gate, GateState, Round, Trigger, Verdict

    now = iso(context.clock())
    rates = [(0.01, Verdict.healthy), (0.04, Verdict.healthy), (0.12, Verdict.failing)]
    gate = Gate(
        id="g-0001",
        namespace="shop",
        deployment="checkout",
        state=GateState.halted,
        trigger=Trigger.api,
        requested_by="approver-user",
        created_at=now,
        updated_at=now,
        revision=4,
        new_replicaset="checkout-new",
        old_replicaset="checkout-old",
        config=config_for(context.settings, None),
        rounds=[
            Round(
                round=i,
                at=now,
                new_error_rate=rate,
                old_error_rate=0.01,
                new_request_rate=4.0,
                old_request_rate=8.0,
                updated_replicas=1,
                verdict=verdict,
                reason=f"round {i}",
            )
            for i, (rate, verdict) in enumerate(rates, start=1)
        ],
        decision="halted: new ReplicaSet error rate 12.0 % > 5.0 %",
        proposals={"rollout-pause": proposal_id},
        record_id=record_id,
    )
    return engine.store_of(context).create(gate)
