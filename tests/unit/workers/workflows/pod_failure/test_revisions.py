"""Did the failure start with the current Deployment revision, and what did that revision change?"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.pod_builders import container, event, evidence, owner
from workers.workflows.pod_failure.classifier import classify
from workers.workflows.pod_failure.revisions import (
    check_revision,
    first_failure,
    parse_time,
    template_changes,
)

PANIC = {"app": "panic: runtime error: invalid memory address or nil pointer dereference\n"}


def _app(name: str = "app", image: str = "shop/web:1.1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "command": None, "args": None, "env": None, **extra}


def test_a_failure_right_after_an_image_change_started_with_the_revision() -> None:
    ev = evidence(
        container(exit_code=2),
        logs=PANIC,
        events=[event("BackOff", "Back-off restarting failed")],
        owner=owner(),
    )
    diagnosis = classify(ev)
    assert diagnosis.started_with_revision
    assert diagnosis.revision == {
        "deployment": "web",
        "current": 2,
        "previous": 1,
        "rolled_out_at": "2026-11-25T09:30:00Z",
        "first_failure": "2026-11-25T09:30:20Z",
        "changes": ["images: shop/web:1.0 -> shop/web:1.1"],
        "pod_in_current_revision": True,
    }
    assert diagnosis.citations[-1].source == "owner.revisions"
    assert "first failure 20s later" in diagnosis.citations[-1].text
    assert "started with revision 2" in diagnosis.root_cause
    assert "since revision 2" in diagnosis.summary


def test_a_failure_days_after_the_rollout_did_not_start_with_it() -> None:
    ev = evidence(
        container(exit_code=2, started_at="2026-11-28T10:00:00Z", finished_at="2026-11-28T10:00:01Z"),
        logs=PANIC,
        events=[event("BackOff", "Back-off", first="2026-11-28T10:00:00Z")],
        owner=owner(),
    )
    diagnosis = classify(ev)
    assert not diagnosis.started_with_revision
    assert diagnosis.revision is not None and diagnosis.revision["first_failure"] == "2026-11-28T10:00:00Z"


def test_a_failure_before_the_rollout_did_not_start_with_it() -> None:
    ev = evidence(
        container(exit_code=2),
        logs=PANIC,
        events=[event("BackOff", "Back-off", first="2026-11-25T09:00:00Z")],
        owner=owner(),
    )
    assert not classify(ev).started_with_revision


def test_a_restart_only_revision_changes_nothing_that_matters() -> None:
    same = [_app(image="shop/web:1.0")]
    ev = evidence(
        container(exit_code=2),
        logs=PANIC,
        events=[event("BackOff", "Back-off")],
        owner=owner(images=("shop/web:1.0", "shop/web:1.0"), containers=(same, same)),
    )
    diagnosis = classify(ev)
    assert not diagnosis.started_with_revision
    assert diagnosis.revision is not None and diagnosis.revision["changes"] == []


def test_an_env_change_is_found_when_the_templates_are_known() -> None:
    before = [
        _app(
            image="shop/web:1.0",
            env=[{"name": "DATABASE_URL", "value": "postgres://db"}, {"name": "LOG", "value": "info"}],
        )
    ]
    after = [
        _app(
            image="shop/web:1.0",
            env=[{"name": "DB_URL", "value": "postgres://db"}, {"name": "LOG", "value": "debug"}],
        )
    ]
    ev = evidence(
        container(),
        logs={"app": "Error: required environment variable DATABASE_URL is not set\n"},
        events=[event("BackOff", "Back-off")],
        owner=owner(images=("shop/web:1.0", "shop/web:1.0"), containers=(after, before)),
    )
    diagnosis = classify(ev)
    assert diagnosis.started_with_revision
    assert diagnosis.revision is not None
    assert diagnosis.revision["changes"] == ["env of app: removed DATABASE_URL; added DB_URL; changed LOG"]


@pytest.mark.parametrize(
    ("after", "before", "changes"),
    [
        ([_app(args=["-listen=:1"])], [_app(args=["-l=:1"])], ["args of app: ['-l=:1'] -> ['-listen=:1']"]),
        ([_app(command=["/bin/run"])], [_app()], ["command of app: [] -> ['/bin/run']"]),
        ([_app(), _app("proxy")], [_app()], ["container proxy added"]),
        ([_app()], [_app(), _app("proxy")], ["container proxy removed"]),
        (
            [_app(env=[{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "b"}}}])],
            [_app(env=[{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "a"}}}])],
            ["env of app: changed K"],
        ),
    ],
)
def test_template_changes(
    after: list[dict[str, Any]], before: list[dict[str, Any]], changes: list[str]
) -> None:
    assert template_changes({"containers": after}, {"containers": before}) == changes


def test_no_previous_revision_means_nothing_to_roll_back_to() -> None:
    ev = evidence(
        container(exit_code=2), logs=PANIC, events=[event("BackOff", "x")], owner=owner(previous=None)
    )
    started, details, citations = check_revision(ev, ev["containers"][0])
    assert not started and citations == []
    assert details is not None and details["previous"] is None


def test_a_pod_of_an_older_replicaset_is_not_blamed_on_the_new_revision() -> None:
    old_pod_owner = {**owner(), "replicaset": "web-old"}
    ev = evidence(container(exit_code=2), logs=PANIC, events=[event("BackOff", "x")], owner=old_pod_owner)
    started, details, _ = check_revision(ev, ev["containers"][0])
    assert not started
    assert details is not None and details["pod_in_current_revision"] is False


def test_no_owner_means_no_revision_check() -> None:
    assert check_revision(evidence(), None) == (False, None, [])


def test_first_failure_of_a_container_that_never_started_is_the_pod_start() -> None:
    ev = evidence(container(waiting="ImagePullBackOff", exit_code=None, restarts=0))
    ev["pod"] = {
        "metadata": {"creationTimestamp": "2026-11-25T09:30:01Z"},
        "status": {"startTime": "2026-11-25T09:30:02Z"},
    }
    failed = first_failure(ev, ev["containers"][0])
    assert failed == parse_time("2026-11-25T09:30:02Z")


def test_first_failure_is_the_earliest_warning() -> None:
    ev = evidence(
        container(finished_at="2026-11-25T09:45:00Z"),
        events=[
            event("BackOff", "x", first="2026-11-25T09:31:00Z"),
            event("Pulled", "y", kind="Normal", first="2026-11-25T09:30:05Z"),
        ],
    )
    assert first_failure(ev, ev["containers"][0]) == parse_time("2026-11-25T09:31:00Z")


@pytest.mark.parametrize("value", [None, "", "yesterday", "2026-11-25T09:30:00", 12])
def test_parse_time_rejects_what_is_not_an_aware_timestamp(value: Any) -> None:
    assert parse_time(value) is None


def test_env_name_changes_are_found_from_the_gathered_env_names() -> None:
    current = {"images": ["a:1"], "env": {"app": ["LOG", "REDIS_URL"], "proxy": []}}
    previous = {"images": ["a:1"], "env": {"app": ["LOG", "REDIS_HOST"], "proxy": []}}
    assert template_changes(current, previous) == ["env of app: removed REDIS_HOST; added REDIS_URL"]
    assert template_changes(current, current) == []


def test_first_failure_uses_since_when_the_pod_is_not_ready() -> None:
    ev = evidence(container(finished_at="2026-11-25T09:45:00Z"))
    ev["pod"] = {
        "status": {
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-25T09:30:00Z"},
                {"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-25T09:30:03Z"},
            ]
        }
    }
    assert first_failure(ev, ev["containers"][0]) == parse_time("2026-11-25T09:30:03Z")
    ev["pod"]["status"]["conditions"][1]["status"] = "True"
    assert first_failure(ev, ev["containers"][0]) == parse_time("2026-11-25T09:45:00Z")
