"""The rollouts pages over plain HTTP: the gates the API lists, one gate with its rounds and chart, and the
link from a rollout-gate proposal to its gate."""

from __future__ import annotations

from tests.support.receiver_api import TOKENS, park
from tests.support.ui_pages import sign_in, stored_gate


def test_rollout_pages_list_show_and_link_from_the_proposal(client, context) -> None:
    proposal = park(context)
    context.proposals.update(proposal.id, lambda p: setattr(p, "playbook", "rollout-gate"))
    gate = stored_gate(context, proposal.id, proposal.record_id)
    sign_in(client, TOKENS["viewer"])

    listing = client.get("/ui/rollouts").get_data(as_text=True)
    assert f'href="/ui/rollouts/{gate.id}"' in listing and "shop/checkout" in listing
    assert "halted" in listing and "12.0 %" in listing
    assert client.get("/ui/rollouts?state=continued").get_data(as_text=True).count('class="gate"') == 0

    shown = client.get(f"/ui/rollouts/{gate.id}").get_data(as_text=True)
    assert "halted: new ReplicaSet error rate 12.0 % &gt; 5.0 %" in shown
    assert shown.count("<circle") == 3 and "<polyline" in shown
    assert (
        f'href="/ui/approvals/{proposal.id}"' in shown and f'href="/ui/records/{proposal.record_id}"' in shown
    )
    assert client.get("/ui/rollouts/g-nope").status_code == 404

    page = client.get(f"/ui/approvals/{proposal.id}").get_data(as_text=True)
    assert f'href="/ui/rollouts/{gate.id}"' in page
