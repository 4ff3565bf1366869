"""docs/settings.md is generated from the settings model and is current; every setting is documented and
every variable it names really sets that key; notification links never guess the receiver's address."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from receiver.cli import main as aiops
from workers import settings_doc
from workers.domain import Proposal
from workers.errors import SettingsError
from workers.integrations.notify.sinks import message
from workers.settings import Settings, _env_overrides, load_settings

ROOT = Path(__file__).resolve().parents[3]


def _sections(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type[BaseModel]]]:
    found = []
    for name, field in model.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            key = f"{prefix}{name}"
            found.append((key, field.annotation))
            found.extend(_sections(field.annotation, key + "."))
    return found


def test_committed_settings_reference_is_current() -> None:
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_doc.render(), (
        f"docs/settings.md is stale: regenerate it with `{settings_doc.COMMAND}`"
    )


def test_aiops_settings_doc_writes_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "settings.md"
    assert aiops(["settings", "doc", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == settings_doc.render()


def test_every_section_and_key_has_a_one_line_meaning() -> None:
    text = settings_doc.render()
    for key, section in _sections(Settings):
        assert section.__doc__ and section.__doc__.strip(), f"section {key} has no docstring"
        for name, field in section.model_fields.items():
            nested = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
            if not nested:
                assert field.description, f"setting {key}.{name} has no docstring"
                assert f"| `{key}.{name}` |" in text


def test_every_documented_variable_sets_its_key() -> None:
    checked = 0
    for key, section in _sections(Settings):
        if "." in key:
            continue  # nested sections are YAML only, and the table says so
        for name, field in section.model_fields.items():
            for var in settings_doc.env_variables(key, name, field):
                assert name in _env_overrides({var: "1"}).get(key, {}), f"{var} does not set {key}.{name}"
                checked += 1
    assert checked > 40


def test_a_nested_key_is_documented_as_yaml_only() -> None:
    text = settings_doc.render()
    row = next(line for line in text.splitlines() if line.startswith("| `advisers.kubectl_ai.enabled`"))
    assert "| YAML only |" in row
    row = next(line for line in text.splitlines() if line.startswith("| `redis.url`"))
    assert "`REDIS_URL`, `AIOPS_REDIS_URL`" in row


def _proposal() -> Proposal:
    return Proposal(
        id="p-0001",
        rule="pod-crashloop",
        playbook="pod-failure",
        alert={},
        target={"kind": "Pod", "namespace": "shop", "name": "web-1"},
        diagnosis={"summary": "missing env var"},
        action={"type": "rollback-deployment"},
        created_at="2026-11-25T10:00:00+00:00",
        expires_at="2026-11-25T11:00:00+00:00",
        record_id="r-0001",
    )


def test_without_a_public_url_links_are_relative_and_say_so() -> None:
    settings = load_settings(env={})
    assert settings.notify.public_url is None
    body = message(_proposal(), "proposal pending", settings.notify.public_url)
    assert body["link"] == "/ui/approvals/p-0001" and body["link_is_relative"] is True
    assert body["record_link"] == "/ui/records/r-0001"
    assert "127.0.0.1" not in body["text"] and "notify.public_url is not set" in body["text"]
    assert "AIOPS_NOTIFY_PUBLIC_URL" in (settings.notify.link_warning() or "")


def test_a_public_url_makes_absolute_links() -> None:
    settings = load_settings(env={"AIOPS_NOTIFY_PUBLIC_URL": "https://aiops.example.org/"})
    assert settings.notify.link_warning() is None
    body = message(_proposal(), "proposal pending", settings.notify.public_url)
    assert body["link"] == "https://aiops.example.org/ui/approvals/p-0001"
    assert body["text"].endswith("https://aiops.example.org/ui/approvals/p-0001")


@pytest.mark.parametrize(
    ("env", "message_part"),
    [
        ({"AIOPS_NOTIFY_PUBLIC_URL": "aiops.example.org"}, "notify.public_url"),
        ({"AIOPS_CLI_URL": "localhost:8080"}, "cli.url (env AIOPS_CLI_URL)"),
        ({"AIOPS_CLI_TOKEN": "t" * 20, "AIOPS_CLI_TOKEN_FILE": "/x"}, "not both"),
    ],
)
def test_bad_client_and_link_settings_are_refused(env: dict[str, str], message_part: str) -> None:
    with pytest.raises(SettingsError, match=message_part.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env=env)
