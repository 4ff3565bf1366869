"""Fixtures for the rules tests: a valid rule as YAML text and as data, rule directories, alerts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.model import Rule
from tests.support.rule_samples import BASE_RULE


@pytest.fixture
def rule_data() -> dict[str, Any]:
    """The base rule as plain data (a fresh copy per test)."""
    data: dict[str, Any] = yaml.safe_load(BASE_RULE)
    return data


@pytest.fixture
def make_rule() -> Callable[..., Rule]:
    """Build a minimal valid rule: ``make_rule("r1", "AlertA", labels={...}, status="any")``."""

    def build(
        name: str,
        alertname: str | list[str],
        labels: dict[str, str] | None = None,
        status: str = "firing",
        **extra: Any,
    ) -> Rule:
        data = {
            "name": name,
            "match": {"alertname": alertname, "labels": labels or {}, "status": status},
            "playbook": "pod-failure",
            "target": {"kind": "Pod", "namespace": "{{ labels.namespace }}", "name": "{{ labels.pod }}"},
            **extra,
        }
        return Rule.model_validate(data)

    return build


@pytest.fixture
def rule_dir(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{filename: text}`` into a fresh directory and return it."""
    counter = iter(range(1_000))

    def write(files: dict[str, str]) -> Path:
        directory = tmp_path / f"rules-{next(counter)}"
        directory.mkdir()
        for name, text in files.items():
            (directory / name).write_text(text, encoding="utf-8")
        return directory

    return write
