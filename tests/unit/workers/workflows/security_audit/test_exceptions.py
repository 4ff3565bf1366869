"""Exceptions: valid ones move findings apart with their reason, expired ones count again, bad ones lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.security_builders import NOW, deployment
from workers.settings import SecuritySettings
from workers.workflows.security_audit import build_audit, exceptions
from workers.workflows.security_audit.errors import ExceptionsFileError

OBJECTS = [
    deployment(
        "debug",
        "tools",
        labels={"app": "debug", "team": "sre"},
        containers=[{"name": "c", "image": "busybox"}],
    ),
    deployment("api", "shop", containers=[{"name": "c", "image": "nginx"}]),
]


def latest(report_findings: list) -> set[str | None]:
    return {f.name for f in report_findings if f.check == "images.latest_tag"}


def test_a_valid_exception_lists_the_finding_apart_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(
        "- check: images.latest_tag\n"
        "  selector: {namespace: tools, labels: {team: sre}}\n"
        "  reason: the debug toolbox follows upstream on purpose\n"
        "  expires: 2027-01-31\n"
    )
    accepted = exceptions.load(path)
    report = build_audit(OBJECTS, SecuritySettings(), accepted, None, now=NOW)
    assert latest(report.findings()) == {"api"}
    assert latest(report.excepted) == {"debug"}
    (excepted,) = [f for f in report.excepted if f.check == "images.latest_tag"]
    assert excepted.evidence["exception"] == {
        "reason": "the debug toolbox follows upstream on purpose",
        "expires": "2027-01-31",
        "line": 1,
    }
    (section,) = [s for s in report.sections if s.id == "images"]
    assert section.summary["excepted"] == 1


def test_labels_that_do_not_match_except_nothing() -> None:
    (rule,), errors = exceptions.parse(
        "exceptions:\n"
        "- {check: 'images.*', selector: {labels: {team: web}}, reason: r, expires: 2027-01-31}\n"
    )
    assert errors == []
    report = build_audit(OBJECTS, SecuritySettings(), [rule], None, now=NOW)
    assert report.excepted == []


def test_an_expired_exception_counts_the_finding_again_and_says_so() -> None:
    accepted, errors = exceptions.parse(
        "- {check: images.latest_tag, selector: {name: 'deb*'}, reason: toolbox, expires: 2026-11-01}\n"
    )
    assert errors == []
    report = build_audit(OBJECTS, SecuritySettings(), accepted, None, now=NOW)
    assert latest(report.findings()) == {"api", "debug"}
    (debug,) = [f for f in report.findings() if f.check == "images.latest_tag" and f.name == "debug"]
    assert "exception expired on 2026-11-01: toolbox" in debug.message
    assert debug.evidence["exception_expired"] == {"reason": "toolbox", "expires": "2026-11-01"}


def test_lint_names_file_and_line_of_each_malformed_entry(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- check: images.latest_tag\n"  # 1: good
        "  selector: {name: x}\n"
        "  reason: fine\n"
        "  expires: 2027-01-01\n"
        "- check: no.such.check\n"  # 5
        "  selector: {name: x}\n"
        "  reason: r\n"
        "  expires: 2027-01-01\n"
        "- check: images.latest_tag\n"  # 9
        "  selector: {}\n"
        "  expires: someday\n"
        "  colour: blue\n"
        "- just a string\n"  # 13
    )
    assert exceptions.lint(path) == [
        f"{path}:5: `check` 'no.such.check' matches no check",
        f"{path}:9: unknown key 'colour'",
        f"{path}:9: `reason` is required: say why the finding is accepted",
        f"{path}:9: `expires` is required, a date such as 2027-03-31",
        f"{path}:9: `selector` is required: one or more of namespace, kind, name, labels",
        f"{path}:13: an exception must be a mapping with check, selector, reason, expires",
    ]
    with pytest.raises(ExceptionsFileError) as err:
        exceptions.load(path)
    assert len(err.value.problems) == 6


def test_lint_reports_broken_yaml_and_the_wrong_shape(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- check: a\n  selector: {name: [\n")
    (message,) = exceptions.lint(broken)
    assert message.startswith(f"{broken}:3: not valid YAML")
    shaped = tmp_path / "shape.yaml"
    shaped.write_text("check: images.latest_tag\n")
    assert exceptions.lint(shaped) == [
        f"{shaped}:1: expected a list of exceptions (or a mapping with key `exceptions`)"
    ]
    assert exceptions.lint(tmp_path / "absent.yaml")[0].startswith(
        f"{tmp_path / 'absent.yaml'}:0: cannot read"
    )
