"""Settings: defaults, YAML file, environment overrides, and errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import SettingsError
from workers.settings import DEFAULT_DENIED_NAMESPACES, load_settings


def test_defaults_are_safe() -> None:
    settings = load_settings(env={})
    assert settings.namespaces.deny == DEFAULT_DENIED_NAMESPACES
    assert not settings.namespaces.permits("kube-system")
    assert settings.namespaces.permits("shop")
    assert settings.limits.max_body_bytes == 1024 * 1024
    assert settings.redis.url is None
    assert not settings.advisers.kubectl_ai.enabled


def test_yaml_then_env_then_standard_variables(tmp_path: Path) -> None:
    config = tmp_path / "aiops.yaml"
    config.write_text("prometheus: {url: http://file:9090, timeout_s: 3}\nalerts: {dedup_window_s: 60}\n")
    settings = load_settings(
        env={
            "AIOPS_CONFIG": str(config),
            "AIOPS_ALERTS_DEDUP_WINDOW_S": "120",
            "PROMETHEUS_URL": "http://env:9090",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "AIOPS_RULES_DIR": str(tmp_path),
            "AIOPS_TOKENS_FILE": str(tmp_path / "t.yaml"),
            "AIOPS_NAMESPACES_ALLOW": "shop, web",
        }
    )
    assert settings.prometheus.url == "http://env:9090"
    assert settings.prometheus.timeout_s == 3
    assert settings.alerts.dedup_window_s == 120
    assert settings.redis.url == "redis://127.0.0.1:1/0"
    assert settings.rules.dir == tmp_path
    assert settings.auth.tokens_file == tmp_path / "t.yaml"
    assert settings.namespaces.allow == ["shop", "web"]
    assert not settings.namespaces.permits("other")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AIOPS_ALERTS_DEDUP_WINDOW_S": "soon"}, "alerts.dedup_window_s (env AIOPS_ALERTS_DEDUP_WINDOW_S)"),
        ({"AIOPS_LIMITS_MAX_BODY_BYTES": "0"}, "limits.max_body_bytes"),
        ({"AIOPS_LOGGING_LEVEL": "LOUD"}, "logging.level"),
        ({"AIOPS_NAMESPACES_ALLOW": "kube-system"}, "both allowed and denied"),
    ],
)
def test_invalid_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env=env)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "aiops.yaml"
    config.write_text("prometheus: {ur1: http://typo}\n")
    with pytest.raises(SettingsError, match=r"prometheus\.ur1"):
        load_settings(env={}, config_file=config)


def test_unreadable_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(env={"AIOPS_CONFIG": str(tmp_path / "missing.yaml")})
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(env={}, config_file=bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(SettingsError, match="mapping of sections"):
        load_settings(env={}, config_file=bad)
