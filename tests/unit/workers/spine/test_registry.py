"""The rule vocabulary and the code stay in step: every allowlisted action and playbook is implemented."""

from __future__ import annotations

from rules.allowlist import ACTIONS, PLAYBOOKS
from workers.spine.registry import default_registry


def test_every_allowlisted_action_is_implemented_and_nothing_more() -> None:
    assert set(default_registry().actions) == set(ACTIONS)


def test_every_playbook_resolves() -> None:
    registry = default_registry()
    for name in PLAYBOOKS:
        assert registry.workflow(name).name == name
    assert set(registry.workflows) == set(PLAYBOOKS)
