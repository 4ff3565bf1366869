"""Playbooks: turn evidence into a diagnosis and a proposed action. One module per playbook."""

from __future__ import annotations

from typing import Any


def get_playbook(name: str) -> Any:
    """The playbook registered under ``name`` (names come from ``rules.allowlist.PLAYBOOKS``)."""
    from workers.workflows.pod_failure.playbook import PodFailurePlaybook

    playbooks = {"pod-failure": PodFailurePlaybook}
    if name not in playbooks:
        raise KeyError(f"no playbook {name!r}")
    return playbooks[name]()
