"""Build the advisers the settings enable: the built-in one always, each AI tool only when switched on.

Names are the ones rules use in ``evidence.ai`` (``rules.allowlist.ADVISERS``); each maps to a
section of ``advisers`` in the settings file. Nothing is contacted here: reachability is learnt
when an adviser is consulted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rules.allowlist import ADVISERS
from workers.integrations.advisers.base import Adviser
from workers.integrations.advisers.builtin import NAME as BUILTIN
from workers.integrations.advisers.builtin import BuiltinAdviser
from workers.integrations.advisers.holmesgpt import HolmesAdviser
from workers.integrations.advisers.k8sgpt import K8sgptAdviser
from workers.integrations.advisers.kagent import KagentAdviser
from workers.integrations.advisers.kubectl_ai import KubectlAiAdviser
from workers.settings import AdviserSettings, Settings

# Adviser name (as rules write it) -> section of ``advisers`` in the settings file.
SECTIONS: dict[str, str] = {
    "kubectl-ai": "kubectl_ai",
    "kagent": "kagent",
    "holmesgpt": "holmesgpt",
    "k8sgpt": "k8sgpt",
}


def is_enabled(name: str, settings: AdviserSettings) -> bool:
    """True when adviser ``name`` is switched on in the settings (the built-in one always is)."""
    if name == BUILTIN:
        return True
    section = SECTIONS.get(name)
    return bool(section and getattr(settings, section).enabled)


def disabled_reason(name: str, settings: AdviserSettings) -> str:
    """Why adviser ``name`` will not be consulted, or ``""`` when it will be."""
    if name != BUILTIN and name not in ADVISERS:
        return f"{name!r} is not an allowlisted adviser (rules.allowlist.ADVISERS: {', '.join(ADVISERS)})"
    if not is_enabled(name, settings):
        return f"not enabled in the settings (advisers.{SECTIONS[name]}.enabled is false)"
    return ""


def build_advisers(settings: Settings, clock: Callable[[], float] = time.monotonic) -> dict[str, Adviser]:
    """The built-in adviser plus every enabled AI adviser, by name."""
    advisers: dict[str, Adviser] = {BUILTIN: BuiltinAdviser()}
    section = settings.advisers
    if section.kubectl_ai.enabled:
        advisers["kubectl-ai"] = KubectlAiAdviser(section.kubectl_ai, clock)
    if section.kagent.enabled:
        advisers["kagent"] = KagentAdviser(section.kagent, clock)
    if section.holmesgpt.enabled:
        advisers["holmesgpt"] = HolmesAdviser(section.holmesgpt, clock)
    if section.k8sgpt.enabled:
        advisers["k8sgpt"] = K8sgptAdviser(section.k8sgpt, clock)
    return advisers
