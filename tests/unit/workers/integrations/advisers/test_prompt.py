"""The question sent to advisers: built from the evidence, redacted, and capped at a line boundary."""

from __future__ import annotations

import dataclasses

import pytest

from tests.standins.incident import PLANTED, sample_incident
from workers.integrations.advisers.prompt import TRUNCATION_NOTE, build_request, cap_text


def _request(max_bytes: int = 16 * 1024, **changes):
    incident = sample_incident()
    incident.update(changes)
    return build_request(
        incident["alert"], incident["target"], incident["evidence"], incident["diagnosis"], max_bytes
    )


def test_the_question_names_the_alert_target_and_built_in_diagnosis() -> None:
    request = _request()
    assert request.question.startswith(
        "Alert KubePodCrashLooping is firing for Pod shop/checkout-7d9f-abcde."
    )
    assert "oom_killed: container app is OOMKilled at its 256Mi memory limit." in request.question
    assert "Do not change anything in the cluster" in request.question


def test_the_context_holds_the_evidence_most_telling_first_and_logs_last() -> None:
    context = _request().context
    order = [
        "## Alert",
        "## Built-in diagnosis",
        "## Containers",
        "## Metrics",
        "## Events",
        "## Previous log",
    ]
    positions = [context.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert "last terminated OOMKilled exit 137" in context
    assert "java.lang.OutOfMemoryError" in context


def test_nothing_planted_survives_in_any_part_of_the_request() -> None:
    request = _request()
    everything = f"{request.prompt}{request.alert}{request.target}{request.evidence}{request.diagnosis}"
    for secret in PLANTED:
        assert secret not in everything


@pytest.mark.parametrize("limit", [600, 1000, 1500])
def test_the_prompt_is_capped_at_a_line_boundary_with_a_note(limit: int) -> None:
    request = _request(limit)
    data = request.prompt.encode("utf-8")
    assert len(data) <= limit
    assert "[truncated:" in request.context
    assert f"advisers.max_prompt_bytes = {limit})" in request.context
    kept = request.context.rsplit("\n", 1)[0]
    assert kept in _request().context  # whole lines, cut only at the end


def test_logs_are_cut_before_the_diagnosis() -> None:
    incident = sample_incident()
    incident["evidence"]["previous_logs"]["app"] = "log line\n" * 5000
    request = build_request(
        incident["alert"], incident["target"], incident["evidence"], incident["diagnosis"], 4096
    )
    assert "## Built-in diagnosis" in request.context and "## Events" in request.context
    assert len(request.prompt.encode()) <= 4096


def test_a_small_prompt_is_not_truncated() -> None:
    assert "[truncated" not in _request().prompt


def test_cap_text_handles_multibyte_text() -> None:
    text = "é" * 100 + "\n" + "ü" * 100
    capped = cap_text(text, 150, TRUNCATION_NOTE)
    assert len(capped.encode("utf-8")) <= 150
    capped.encode("utf-8").decode("utf-8")


def test_a_diagnosis_dataclass_is_accepted() -> None:
    @dataclasses.dataclass
    class Diagnosis:
        category: str
        summary: str

    request = _request(diagnosis=Diagnosis("crashloop", "container exits with code 1"))
    assert request.diagnosis == {"category": "crashloop", "summary": "container exits with code 1"}
    assert "crashloop: container exits with code 1." in request.question


def test_missing_evidence_still_makes_a_question() -> None:
    request = build_request({"labels": {}}, {}, {}, None, 1024)
    assert request.question.startswith("Alert an alert is firing for object ?.")
