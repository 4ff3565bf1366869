"""Every runbook link a proposal can carry points at an existing file and heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.workflows.pod_failure.runbooks import RUNBOOKS, STEPS, runbook_for, steps_for
from workers.workflows.pod_failure.signals import CATEGORY_TITLES

ROOT = Path(__file__).resolve().parents[5]


def _slugs(markdown: str) -> set[str]:
    """GitHub-style heading anchors."""
    slugs = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


@pytest.mark.parametrize("category", sorted(CATEGORY_TITLES))
def test_each_category_has_a_runbook_section_and_steps(category: str) -> None:
    link = runbook_for(category)
    path, _, anchor = link.partition("#")
    text = (ROOT / path).read_text(encoding="utf-8")
    if anchor:
        assert anchor in _slugs(text), f"{link}: no such heading"
    assert category in RUNBOOKS and category in STEPS


def test_steps_are_filled_in_and_unknown_names_are_marked() -> None:
    steps = steps_for("dependency_unavailable", {"namespace": "shop", "pod": "web-1", "container": "app"})
    assert steps[0] == (
        "kubectl -n shop logs web-1 -c app --previous --tail=100  # the host and port the app fails to reach"
    )
    assert "<?>" in " ".join(steps_for("bad_config", {"namespace": "shop"}))


def test_an_unlisted_category_gets_the_unknown_runbook() -> None:
    assert runbook_for("something_new") == RUNBOOKS["unknown"]
    assert steps_for("something_new", {}) == steps_for("unknown", {})
