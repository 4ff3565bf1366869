"""``scenario.yaml``: how the sandbox's pods behave, and the settings of its controllers and series.

Each top-level key belongs to the module that reads it: ``outcomes`` and ``restart_period_s``
(sandbox.outcomes), ``hpa``
(sandbox.hpa), ``rollout_step_seconds`` (sandbox.rollouts), ``traffic`` (sandbox.traffic) and
``history`` (sandbox.history_settings); this module checks them all and loads the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sandbox import history_settings, hpa, outcomes, traffic
from sandbox.errors import ScenarioError


def check(data: Any, source: str) -> list[str]:
    """Problems with a parsed scenario.yaml (empty when it is usable)."""
    if not isinstance(data, dict):
        return [f"{source}: must be a mapping"]
    listed = data.get("outcomes", [])
    if not isinstance(listed, list):
        return [f"{source}: outcomes must be a list"]
    problems = outcomes.check(listed, source)
    problems += hpa.check(data.get("hpa"), f"{source}: hpa")
    step = data.get("rollout_step_seconds", 0)
    if isinstance(step, bool) or not isinstance(step, int | float) or step < 0:
        problems.append(f"{source}: rollout_step_seconds must be a number of seconds >= 0")
    problems += traffic.check(data.get("traffic"), f"{source}: traffic")
    problems += history_settings.check(data.get("history"), f"{source}: history")
    return problems


def load(path: Path) -> dict[str, Any]:
    """Parse and check ``scenario.yaml``; ``{}`` when the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{path}: not valid YAML: {exc}"]) from exc
    problems = check(data, str(path))
    if problems:
        raise ScenarioError(problems)
    return data
