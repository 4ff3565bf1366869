"""The rule vocabulary and the code stay in step: every allowlisted action and playbook is implemented."""

from __future__ import annotations

from rules.allowlist import ACTIONS, PLAYBOOKS
from workers.spine.registry import get_playbook
from workers.workflows.pod_failure.actions import ACTIONS as IMPLEMENTED


def test_every_allowlisted_action_is_implemented_and_nothing_more() -> None:
    assert set(IMPLEMENTED) == set(ACTIONS)


def test_every_playbook_resolves() -> None:
    for name in PLAYBOOKS:
        assert get_playbook(name).name == name
