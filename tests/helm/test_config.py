"""What the chart hands the service loads through the service's own loaders: settings, tokens and rules."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from receiver.auth import TokenBook
from tests.helm.conftest import GENERATED_TOKEN_ROLES, NAMESPACE, RELEASE, Rendered
from workers.settings import DEFAULT_DENIED_NAMESPACES, Settings, load_settings


def _settings_file(rendered: Rendered, tmp_path: Path) -> Path:
    configmap = rendered.one("ConfigMap", "settings")
    path = tmp_path / "settings.yaml"
    path.write_text(configmap["data"]["settings.yaml"], encoding="utf-8")
    return path


def _container_env(rendered: Rendered, component: str) -> dict[str, str]:
    """The environment a container starts with; secret values stand in as <secret name/key>."""
    (container,) = rendered.one("Deployment", component)["spec"]["template"]["spec"]["containers"]
    env: dict[str, str] = {}
    for item in container["env"]:
        if "value" in item:
            # Kubernetes expands $(VAR) from variables defined earlier in the list.
            env[item["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"]
            )
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = f"<{ref['name']}/{ref['key']}>"
    return env


def test_settings_configmap_loads(rendered: Rendered, tmp_path: Path) -> None:
    settings = load_settings(env={}, config_file=_settings_file(rendered, tmp_path))
    assert isinstance(settings, Settings)
    assert settings.prometheus.url == "http://prometheus-operated.monitoring.svc:9090"


@pytest.mark.parametrize("component", ["receiver", "worker", "cron"])
def test_settings_load_with_the_pod_environment(rendered: Rendered, component: str, tmp_path: Path) -> None:
    env = _container_env(rendered, component)
    assert env.pop("AIOPS_CONFIG") == "/etc/aiops/settings/settings.yaml"
    settings = load_settings(env=env, config_file=_settings_file(rendered, tmp_path))
    assert settings.redis.url is not None
    if "REDIS_PASSWORD" in env:
        # The bundled Redis: each component signs in as its own ACL user, with its own Secret.
        password = env["REDIS_PASSWORD"]
        assert password == f"<{RELEASE}-aiops-responder-redis-{component}/password>"
        assert (
            settings.redis.url
            == f"redis://{component}:{password}@{RELEASE}-aiops-responder-redis.{NAMESPACE}.svc:6379/0"
        )
    if component == "receiver":
        assert str(settings.auth.tokens_file) == "/etc/aiops/tokens/tokens.yaml"
    else:
        assert settings.auth.tokens_file is None
    if rendered.values.get("rules", {}).get("files"):
        assert str(settings.rules.dir) == "/etc/aiops/rules"
    else:
        # No rules given: the library built into the image.
        assert "AIOPS_RULES_DIR" not in env
        assert settings.rules.dir == Settings().rules.dir


def test_derived_settings(render_set: Any, tmp_path: Path) -> None:
    def loaded(name: str) -> Settings:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        return load_settings(env={}, config_file=_settings_file(render_set(name), directory))

    assert loaded("namespaced").namespaces.allow == ["shop", "payments"]
    assert loaded("default").namespaces.allow == []
    assert loaded("ingress").notify.public_url == "https://aiops.example.org"
    assert loaded("default").notify.public_url == f"http://{RELEASE}-aiops-responder.{NAMESPACE}.svc:8080"
    # The release namespace, the responder's own, is always denied (issue 9).
    assert loaded("default").namespaces.deny == [*DEFAULT_DENIED_NAMESPACES, NAMESPACE]
    custom = loaded("custom")
    assert custom.namespaces.deny == ["kube-system", NAMESPACE]
    assert custom.limits.max_body_bytes == 2097152
    assert custom.logging.level == "DEBUG"


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode("utf-8") for key, value in secret["data"].items()}


def test_generated_tokens_are_stored_hashed_for_the_service(render_set: Any) -> None:
    data = _secret_data(render_set("default").one("Secret", "tokens"))
    entries = yaml.safe_load(data["tokens.yaml"])
    assert [entry["role"] for entry in entries] == list(GENERATED_TOKEN_ROLES)
    for entry in entries:
        plain = data[f"{entry['role']}-token"]
        assert len(plain) >= 32
        assert "token" not in entry
        assert entry["sha256"] == hashlib.sha256(plain.encode("utf-8")).hexdigest()
    book = TokenBook(entries)
    identity = book.identify(f"Bearer {data['approver-token']}")
    assert identity is not None and identity.role == "approver"
    assert book.identify("Bearer not-a-token") is None


def test_given_tokens_are_passed_through(render_set: Any) -> None:
    rendered = render_set("custom")
    data = _secret_data(rendered.one("Secret", "tokens"))
    assert yaml.safe_load(data["tokens.yaml"]) == rendered.values["auth"]["tokens"]
    assert data["webhook-token"] == "wh-0123456789abcdef"
    book = TokenBook(yaml.safe_load(data["tokens.yaml"]))
    assert book.has_role("approver") and book.has_role("webhook")


def test_rules_configmap_loads_through_the_rules_loader(render_set: Any, tmp_path: Path) -> None:
    from rules.loader import load_rule_dir

    rendered = render_set("custom")
    files = rendered.values["rules"]["files"]
    assert files, "rules/library/*.yaml holds no rules to ship"
    configmap = rendered.one("ConfigMap", "rules")
    assert configmap["data"] == files
    for name, text in configmap["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    # A mounted ConfigMap also holds ..data and ..<timestamp> entries; the loader must skip them.
    (tmp_path / "..data").symlink_to(tmp_path, target_is_directory=True)
    ruleset = load_rule_dir(tmp_path)
    assert len(ruleset) >= 1
    for _, spec in rendered.pod_specs():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        if "rules" in volumes:
            assert volumes["rules"]["configMap"]["name"] == configmap["metadata"]["name"]


def test_rules_from_an_existing_configmap(chart: Any) -> None:
    from tests.helm.conftest import render

    rendered = render(chart, "existing-rules", {"rules": {"existingConfigMap": "team-rules"}})
    assert not [cm for cm in rendered.of_kind("ConfigMap") if cm["metadata"]["name"].endswith("-rules")]
    for _, spec in rendered.pod_specs():
        if spec["containers"][0]["name"] == "redis":
            continue
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["rules"]["configMap"]["name"] == "team-rules"
        env = {item["name"]: item.get("value") for item in spec["containers"][0]["env"]}
        assert env["AIOPS_RULES_DIR"] == "/etc/aiops/rules"


def test_alertmanager_routes_every_alert_the_default_rules_match(chart: Any) -> None:
    from rules.loader import load_rule_dir
    from tests.helm.conftest import RULES_LIBRARY

    if not list(RULES_LIBRARY.glob("*.yaml")):
        pytest.fail("rules/library/*.yaml holds no rules to compare with")
    matched = load_rule_dir(RULES_LIBRARY).alertnames
    routed = set(chart.values["prometheusOperator"]["alertmanagerConfig"]["alertnames"])
    assert matched <= routed, (
        f"add {sorted(matched - routed)} to prometheusOperator.alertmanagerConfig.alertnames"
    )
