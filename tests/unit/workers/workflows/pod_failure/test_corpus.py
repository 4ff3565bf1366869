"""The whole US1 corpus through the classifier and the proposal (no server): category, action, the
deciding line, and calibrated confidence. The same figures are in docs/diagnosis.md
(``bench/corpus_matrix.py --calibration``)."""

from __future__ import annotations

import functools

import pytest

from rules.allowlist import ACTIONS
from tests.support import corpus
from tests.support.corpus import load_scenario
from tests.support.scenario_evidence import build_evidence, scenario_dirs
from workers.workflows.pod_failure.classifier import MIN_SCORE, UNKNOWN_CONFIDENCE
from workers.workflows.pod_failure.playbook import PodFailurePlaybook

SCENARIOS = scenario_dirs()


@functools.cache
def rows(variants: bool) -> tuple[corpus.Row, ...]:
    return tuple(corpus.run(variants=variants))


def test_the_corpus_has_at_least_sixty_incidents_that_name_their_message_source() -> None:
    sourced = [
        path for path in SCENARIOS if str(load_scenario(path).spec.get("message_source") or "").strip()
    ]
    assert len(sourced) >= 60


def test_every_scenario_gets_its_category_and_its_action() -> None:
    wrong = [
        (r.scenario, r.diagnosed, r.proposed_action) for r in rows(False) if not (r.right and r.action_right)
    ]
    assert not wrong


def test_confidence_separates_right_from_wrong_answers() -> None:
    figures = corpus.summary(list(rows(True)))
    assert figures["rows"] == 4 * len(SCENARIOS)
    assert figures["mean_confidence_right"] >= 0.6
    assert figures["mean_confidence_wrong"] <= figures["mean_confidence_right"] - 0.4
    # Degraded evidence mostly ends in "unknown", not in a confident wrong answer.
    assert figures["named_wrong"] <= 0.02 * figures["rows"]
    assert figures["max_confidence_unknown"] == UNKNOWN_CONFIDENCE < MIN_SCORE


def test_confident_named_answers_are_right() -> None:
    for band in corpus.reliability(list(rows(True))):
        if float(band["band"].split("-")[0]) >= 0.5:
            assert band["accuracy"] >= 0.95, band


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_the_diagnosis_names_the_line_that_decided_it(path) -> None:
    evidence = build_evidence(load_scenario(path))
    diagnosis = PodFailurePlaybook().diagnose(evidence)
    if diagnosis.category == "unknown":
        assert diagnosis.decided_by is None and diagnosis.confidence < MIN_SCORE
        return
    decided = diagnosis.decided_by
    assert decided is not None and decided["category"] == diagnosis.category
    if decided["source"].startswith("logs/"):
        container = decided["source"].removeprefix("logs/")
        assert decided["text"] in [line.strip() for line in evidence["previous_logs"][container].splitlines()]
    else:
        assert decided["text"] in {citation.text for citation in diagnosis.citations}
    PodFailurePlaybook().propose(diagnosis, evidence, list(ACTIONS))


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_probe_failures_beside_an_own_exit_are_reported_as_discounted(path) -> None:
    evidence = build_evidence(load_scenario(path))
    diagnosis = PodFailurePlaybook().diagnose(evidence)
    probe_events = [e for e in evidence["events"] if "probe failed" in str(e.get("message")).lower()]
    if diagnosis.category == "probe_failure" or not probe_events:
        return
    liveness_or_startup = [e for e in probe_events if "Readiness" not in str(e.get("message"))]
    if liveness_or_startup:
        assert any(d["category"] == "probe_failure" for d in diagnosis.discounted), diagnosis.discounted
