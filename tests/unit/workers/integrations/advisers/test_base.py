"""The advice result model, its record entry, the registry and the built-in adviser."""

from __future__ import annotations

import json

from rules.allowlist import ADVISERS
from tests.standins.incident import sample_incident
from workers.integrations.advisers.base import (
    AdviceResult,
    AdviceStatus,
    Recommendation,
    bullet_points,
    summarize_text,
    truncate,
)
from workers.integrations.advisers.builtin import BuiltinAdviser
from workers.integrations.advisers.prompt import build_request
from workers.integrations.advisers.registry import SECTIONS, build_advisers, disabled_reason, is_enabled
from workers.settings import Settings


def test_status_values_are_the_documented_strings() -> None:
    assert [status.value for status in AdviceStatus] == [
        "ok",
        "no_findings",
        "timeout",
        "error",
        "unavailable",
        "skipped",
    ]
    assert AdviceStatus("timeout") is AdviceStatus.timeout
    assert isinstance(AdviceStatus.ok, str)


def test_to_dict_and_record_entry_are_json() -> None:
    result = AdviceResult(
        adviser="kagent",
        status=AdviceStatus.ok,
        summary="OOMKilled",
        findings=["exit 137"],
        recommendations=[
            Recommendation("raise it", "kubectl set resources ...", "mutating", "raise-memory-limit")
        ],
        raw="answer",
        full_text_ref="aiops:advice:x",
        duration_s=1.23456,
        question="q",
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "ok" and data["duration_s"] == 1.235
    assert data["recommendations"][0] == {
        "text": "raise it",
        "command": "kubectl set resources ...",
        "risk": "mutating",
        "action": "raise-memory-limit",
        "params": {},
    }
    entry = result.to_record_entry()
    assert entry["answer"] == "answer" and "raw" not in entry
    assert {"adviser", "status", "question", "duration_s", "answer", "full_text_ref", "detail"} <= set(entry)


def test_failures_are_timeout_error_and_unavailable() -> None:
    failed = {status for status in AdviceStatus if AdviceResult("x", status).failed}
    assert failed == {AdviceStatus.timeout, AdviceStatus.error, AdviceStatus.unavailable}


def test_text_helpers() -> None:
    assert summarize_text("## Diagnosis\n\n**The pod is OOMKilled**\nmore") == "Diagnosis"
    assert summarize_text("```\n\nplain answer") == "plain answer"
    assert bullet_points("intro\n- one\n* two\n3. three\nnot a bullet") == ["one", "two", "three"]
    assert truncate("abcdef", 10) == "abcdef"
    cut = truncate("x" * 100, 40, marker="[cut]")
    assert len(cut) == 40 and cut.endswith("[cut]")


def test_every_allowlisted_adviser_has_a_settings_section() -> None:
    assert set(SECTIONS) == set(ADVISERS)


def test_registry_builds_only_enabled_advisers() -> None:
    assert list(build_advisers(Settings())) == ["builtin"]
    settings = Settings.model_validate(
        {"advisers": {"kagent": {"enabled": True, "url": "http://kagent:8083"}, "k8sgpt": {"enabled": True}}}
    )
    advisers = build_advisers(settings)
    assert list(advisers) == ["builtin", "kagent", "k8sgpt"]
    assert advisers["kagent"].timeout_s == 300.0 and advisers["k8sgpt"].timeout_s == 60.0
    assert is_enabled("builtin", settings.advisers)


def test_disabled_reasons_name_the_setting_or_the_allowlist() -> None:
    config = Settings().advisers
    assert (
        disabled_reason("holmesgpt", config)
        == "not enabled in the settings (advisers.holmesgpt.enabled is false)"
    )
    assert "not an allowlisted adviser" in disabled_reason("shell", config)
    assert disabled_reason("builtin", config) == ""


def test_builtin_adviser_reports_the_playbook_diagnosis() -> None:
    incident = sample_incident()
    request = build_request(
        incident["alert"], incident["target"], incident["evidence"], incident["diagnosis"], 4096
    )
    result = BuiltinAdviser().advise(request, 1.0)
    assert result.status is AdviceStatus.ok
    assert (
        result.summary == "oom_killed: container app is OOMKilled at its 256Mi memory limit (confidence 90%)"
    )
    assert result.findings[0] == "root cause: memory limit too low for the workload"
    assert result.question == ""  # nothing left the process
    request.diagnosis = {}
    assert BuiltinAdviser().advise(request, 1.0).status is AdviceStatus.no_findings
