"""The pure parts of workload incidents: key spellings and which workload a proposal belongs to."""

from __future__ import annotations

from workers.domain import Proposal, Target
from workers.spine import incidents

CHECKOUT = Target(kind="Deployment", namespace="shop", name="checkout")


def proposal(**fields: object) -> Proposal:
    base: dict[str, object] = {
        "id": "p-abc",
        "rule": "pod-crashloop",
        "playbook": "pod-failure",
        "alert": {"fingerprint": "fp"},
        "target": {"kind": "Pod", "namespace": "shop", "name": "checkout-7d9f8b6c5-x2k4p"},
        "created_at": "2026-11-25T10:00:00Z",
        "expires_at": "2026-11-25T11:00:00Z",
        "record_id": "r-abc",
    }
    return Proposal.model_validate({**base, **fields})


def test_keys_name_the_workload_and_the_alert() -> None:
    assert (
        incidents.key("pod-failure", CHECKOUT)
        == "aiops:incident:workload:pod-failure:Deployment/shop/checkout"
    )
    assert incidents.alert_key("c4f1") == "aiops:incident:alert:c4f1"
    assert (
        incidents.cooldown_key("pod-crashloop", CHECKOUT)
        == "aiops:cooldown:pod-crashloop:Deployment/shop/checkout"
    )
    # One incident per workflow: a crash-looping Deployment and its CPU running hot are two.
    assert incidents.key("scaling", CHECKOUT) != incidents.key("pod-failure", CHECKOUT)


def test_the_incident_proposal_is_named_after_its_record() -> None:
    assert incidents.proposal_id_of("r-0123456789abcdef0123") == "p-0123456789abcdef0123"


def test_a_proposal_belongs_to_the_workload_its_diagnosis_names() -> None:
    parked = proposal(
        target=CHECKOUT.model_dump(),
        diagnosis={"workload": {**CHECKOUT.model_dump(), "replicas": "2 of 2 replicas failing"}},
    )
    assert incidents.workload_of(parked) == CHECKOUT
    # A restart-pod proposal targets the pod it deletes, and still belongs to the Deployment's incident.
    restart = proposal(diagnosis={"workload": CHECKOUT.model_dump()})
    assert incidents.workload_of(restart) == CHECKOUT


def test_a_proposal_from_before_incidents_belongs_to_its_target() -> None:
    old = proposal(diagnosis={"category": "bad_config"})
    assert incidents.workload_of(old) == Target(kind="Pod", namespace="shop", name="checkout-7d9f8b6c5-x2k4p")
    revert_of_old = proposal(diagnosis={"workload": None})
    assert incidents.workload_of(revert_of_old) == old.target_of()
