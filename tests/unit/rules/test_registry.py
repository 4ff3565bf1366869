"""RuleRegistry: last good set wins, errors are visible and cleared, and polling picks changes up."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rules.errors import RuleSetError
from rules.matcher import RuleSet
from rules.registry import RuleRegistry
from tests.support.rule_samples import BASE_RULE, edit_line

RuleDir = Callable[[dict[str, str]], Path]
BROKEN = edit_line(BASE_RULE, 19, "  actions: [delete-namespace]")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory(rule_dir: RuleDir) -> Path:
    return rule_dir({"crash.yaml": BASE_RULE})


@pytest.fixture
def registry(directory: Path) -> Iterator[RuleRegistry]:
    registry = RuleRegistry(directory)
    yield registry
    registry.stop()


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_initial_load(directory: Path) -> None:
    clock = FakeClock()
    registry = RuleRegistry(directory, clock=clock)
    assert [r.name for r in registry.current.rules] == ["crash"]
    assert (registry.error, registry.generation, registry.loaded_at, registry.path) == (
        None,
        1,
        1000.0,
        directory,
    )


def test_invalid_directory_at_start_raises(rule_dir: RuleDir) -> None:
    with pytest.raises(RuleSetError) as caught:
        RuleRegistry(rule_dir({"crash.yaml": BROKEN}))
    assert [p.line for p in caught.value.problems] == [19]


def test_valid_then_invalid_keeps_last_good_then_fix_clears_error(directory: Path) -> None:
    changes: list[RuleSet] = []
    clock = FakeClock()
    registry = RuleRegistry(directory, on_change=changes.append, clock=clock)
    good = registry.current

    (directory / "crash.yaml").write_text(BROKEN, encoding="utf-8")
    assert registry.reload() is False
    assert registry.current is good
    assert registry.generation == 1
    assert registry.error is not None
    assert "crash.yaml:19: remediation.actions[0]: unknown action 'delete-namespace'" in registry.error

    clock.now = 2000.0
    fixed = BASE_RULE.replace("cooldown: 30m", "cooldown: 45m")
    (directory / "crash.yaml").write_text(fixed, encoding="utf-8")
    assert registry.reload() is True
    assert registry.error is None
    assert registry.current is not good
    crash = registry.current.get("crash")
    assert crash is not None
    assert crash.cooldown_s == 2700
    assert (registry.generation, registry.loaded_at) == (2, 2000.0)
    assert changes == [registry.current]


def test_reload_of_unchanged_content_is_not_a_new_set(registry: RuleRegistry, directory: Path) -> None:
    before = registry.current
    assert registry.reload() is False
    assert registry.current is before
    (directory / "crash.yaml").write_text(BROKEN, encoding="utf-8")
    registry.reload()
    (directory / "crash.yaml").write_text(BASE_RULE, encoding="utf-8")
    assert registry.reload() is False  # the same content as the active set
    assert registry.error is None
    assert registry.generation == 1


def test_removed_directory_keeps_last_good(rule_dir: RuleDir) -> None:
    directory = rule_dir({"crash.yaml": BASE_RULE})
    registry = RuleRegistry(directory)
    (directory / "crash.yaml").unlink()
    directory.rmdir()
    assert registry.reload() is False
    assert registry.error is not None and "rules directory does not exist" in registry.error
    assert len(registry.current) == 1


def test_failing_callback_does_not_break_reload(directory: Path, caplog: pytest.LogCaptureFixture) -> None:
    def explode(_: RuleSet) -> None:
        raise RuntimeError("boom")

    registry = RuleRegistry(directory, on_change=explode)
    (directory / "more.yaml").write_text(BASE_RULE.replace("name: crash", "name: more"), encoding="utf-8")
    assert registry.reload() is True
    assert len(registry.current) == 2
    assert "on_change callback failed" in caplog.text


def test_reload_if_changed(registry: RuleRegistry, directory: Path) -> None:
    assert registry.reload_if_changed() is False
    (directory / "more.yaml").write_text(BASE_RULE.replace("name: crash", "name: more"), encoding="utf-8")
    assert registry.reload_if_changed() is True
    assert registry.reload_if_changed() is False


def test_polling_picks_up_changes_and_errors(registry: RuleRegistry, directory: Path) -> None:
    registry.start_polling(0.02)
    assert registry.polling
    with pytest.raises(RuntimeError, match="already polling"):
        registry.start_polling(0.02)

    (directory / "more.yaml").write_text(BASE_RULE.replace("name: crash", "name: more"), encoding="utf-8")
    assert wait_for(lambda: registry.generation == 2)
    assert registry.current.get("more") is not None

    (directory / "more.yaml").write_text(BROKEN.replace("name: crash", "name: more"), encoding="utf-8")
    assert wait_for(lambda: registry.error is not None)
    assert registry.current.get("more") is not None

    (directory / "more.yaml").unlink()
    assert wait_for(lambda: registry.generation == 3)
    assert registry.error is None
    assert [r.name for r in registry.current.rules] == ["crash"]

    registry.stop()
    assert not registry.polling


def test_polling_interval_must_be_positive(registry: RuleRegistry) -> None:
    with pytest.raises(ValueError, match="interval_s must be positive"):
        registry.start_polling(0)
