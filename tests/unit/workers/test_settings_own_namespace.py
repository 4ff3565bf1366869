"""The responder's own namespace is never touched (issue 9): ``namespaces.own`` is refused by ``permits``
whatever allow and deny say; it defaults to the pod's namespace from its service account."""

from __future__ import annotations

from pathlib import Path

from workers.settings import SERVICE_ACCOUNT_NAMESPACE_FILE, in_cluster_namespace, load_settings


def test_own_namespace_from_the_environment_is_refused() -> None:
    settings = load_settings(env={"AIOPS_NAMESPACES_OWN": "aiops"})
    assert settings.namespaces.own == "aiops"
    assert not settings.namespaces.permits("aiops")
    assert settings.namespaces.permits("shop")
    assert not settings.namespaces.permits("kube-system")


def test_own_namespace_wins_over_the_allow_list(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("namespaces:\n  allow: [shop, aiops]\n  own: aiops\n")
    settings = load_settings(env={}, config_file=config)
    assert settings.namespaces.permits("shop")
    assert not settings.namespaces.permits("aiops")


def test_in_cluster_namespace_file(tmp_path: Path) -> None:
    mounted = tmp_path / "namespace"
    mounted.write_text("aiops-system\n")
    assert in_cluster_namespace(mounted) == "aiops-system"
    assert in_cluster_namespace(tmp_path / "absent") is None
    (tmp_path / "blank").write_text("  \n")
    assert in_cluster_namespace(tmp_path / "blank") is None


def test_default_is_the_mounted_namespace_if_any() -> None:
    # On a pod this reads the service account's namespace; elsewhere there is none.
    assert load_settings(env={}).namespaces.own == in_cluster_namespace(SERVICE_ACCOUNT_NAMESPACE_FILE)
    assert Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace") == SERVICE_ACCOUNT_NAMESPACE_FILE


def test_blank_own_namespace_means_none() -> None:
    assert load_settings(env={"AIOPS_NAMESPACES_OWN": " "}).namespaces.own is None
