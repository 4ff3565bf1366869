"""The pure parts of the supersede rules: which object a plan changes, and whether a plan's
guard still holds for the object as another change left it."""

from __future__ import annotations

from workers.domain import Target
from workers.spine.parking import changed_object
from workers.spine.turns import guard_stale, plan_object

ROLLBACK = {
    "verb": "patch",
    "kind": "Deployment",
    "namespace": "shop",
    "name": "checkout",
    "guard": {"generation": 2},
}


def test_a_plan_names_the_object_it_changes() -> None:
    assert plan_object(ROLLBACK) == Target(kind="Deployment", namespace="shop", name="checkout")
    assert plan_object(None) is None
    assert plan_object({"verb": "patch"}) is None


def test_a_guard_goes_stale_when_the_change_moved_the_object_on() -> None:
    after = {"name": "checkout", "generation": 3, "uid": "u-1"}
    assert guard_stale({"generation": 2}, after)
    assert not guard_stale({"generation": 3}, after)  # planned for the object as the change left it
    assert not guard_stale({"generation": "3"}, after)  # stored plans may hold numbers as text
    assert guard_stale({"uid": "u-0"}, after)
    assert not guard_stale({"generation": None}, after)  # an unset guard value checks nothing
    assert not guard_stale({}, after)


def test_a_proposal_targets_what_its_plan_changes_else_the_workload() -> None:
    statefulset = Target(kind="StatefulSet", namespace="shop", name="ledger")
    assert changed_object(ROLLBACK, statefulset) == {
        "kind": "Deployment",
        "namespace": "shop",
        "name": "checkout",
    }
    assert changed_object(None, statefulset) == {"kind": "StatefulSet", "namespace": "shop", "name": "ledger"}
    restart = {"verb": "delete", "kind": "Pod", "namespace": "shop", "name": "web-1", "guard": {"uid": "u"}}
    assert changed_object(restart, statefulset) == {"kind": "Pod", "namespace": "shop", "name": "web-1"}
