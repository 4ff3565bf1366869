"""The embedded Redis's settings and the server it would run, without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.errors import SettingsError
from workers.integrations.redis import embedded
from workers.settings import RedisSettings, default_embedded_dir, load_settings


def test_state_directory_defaults_per_user_and_follows_its_setting() -> None:
    assert default_embedded_dir({"HOME": "/home/ana"}) == Path("/home/ana/.local/state/aiops-responder/redis")
    assert default_embedded_dir({"HOME": "/home/ana", "XDG_STATE_HOME": "/srv/state"}) == Path(
        "/srv/state/aiops-responder/redis"
    )
    # The XDG specification ignores a relative value.
    assert default_embedded_dir({"HOME": "/home/ana", "XDG_STATE_HOME": "state"}) == Path(
        "/home/ana/.local/state/aiops-responder/redis"
    )
    assert load_settings(env={"HOME": "/home/ana"}).redis.embedded_dir == default_embedded_dir(
        {"HOME": "/home/ana"}
    )
    chosen = load_settings(env={"HOME": "/home/ana", "AIOPS_REDIS_EMBEDDED_DIR": "/tmp/mine"})
    assert chosen.redis.embedded_dir == Path("/tmp/mine")
    assert load_settings(env={"REDIS_URL": "redis://db:6379/0"}).redis.url == "redis://db:6379/0"
    assert RedisSettings().embedded_dir is None  # the model's default does not depend on the machine


def test_server_runs_on_a_socket_only_with_aof_in_the_foreground() -> None:
    argv = embedded.redis_argv(Path("/state"), "/bin/redis-server")
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--port"] == "0"
    assert options["--unixsocket"] == "/state/redis.sock"
    assert options["--unixsocketperm"] == "700"
    assert options["--dir"] == "/state"
    assert (options["--appendonly"], options["--appendfsync"]) == ("yes", "everysec")
    assert options["--daemonize"] == "no"
    assert options["--set-proc-title"] == "no"


def test_a_state_directory_too_long_for_a_socket_is_refused_naming_redis_url() -> None:
    embedded.check_socket_path(
        Path("/" + "d" * (embedded.SUN_PATH_MAX - len("//redis.sock")))
    )  # fits exactly
    with pytest.raises(SettingsError, match="REDIS_URL") as refused:
        embedded.check_socket_path(Path("/" + "d" * embedded.SUN_PATH_MAX))
    assert "AIOPS_REDIS_EMBEDDED_DIR" in str(refused.value) and "too long" in str(refused.value)
