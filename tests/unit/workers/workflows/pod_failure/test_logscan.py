"""A log line's level is read from the common formats, and later lines push it back."""

from __future__ import annotations

import pytest

from workers.workflows.pod_failure.logscan import Level, line_level, line_levels, line_weight


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('{"level":"error","ts":"2026-11-25T09:45:37Z","msg":"handshake failed"}', Level.error),
        ('{"level":30,"time":1795599600512,"msg":"consuming"}', Level.info),
        ('{"level":60,"msg":"uncaught exception, exiting"}', Level.fatal),
        ('time="2026-11-25T09:45:05Z" level=fatal msg="cannot open database"', Level.fatal),
        ("W1125 09:45:02.131901       1 reflector.go:539] failed to list *v1.Pod", Level.warn),
        ("E1125 09:45:02.131950       1 reflector.go:147] Failed to watch *v1.Pod", Level.error),
        ("I, [2026-11-25T09:45:02.401210 #1]  INFO -- : polling", Level.info),
        ("2026/11/25 09:45:02 [emerg] 1#1: host not found in upstream", Level.fatal),
        ("[ALERT]    (1) : config : Fatal errors found in configuration.", Level.fatal),
        ("[2026-11-25 09:45:02.871][1][critical][main] error initializing configuration", Level.fatal),
        ("10-listen-on-ipv6-by-default.sh: info: can not modify /etc/nginx/conf.d/default.conf", Level.info),
        ("info: Microsoft.Hosting.Lifetime[0]", Level.info),
        ("[2026-11-25 09:45:33,140: CRITICAL/MainProcess] Unrecoverable error", Level.fatal),
        ("2026-11-25 09:45:02,611 INFO [refunds.worker] consuming", Level.info),
        ("09:45:02.981 [error] Postgrex.Protocol failed to connect", Level.error),
        ("ERROR:    Application startup failed. Exiting.", Level.error),
        ("Error: Cannot find module 'ioredis'", Level.error),
        ("ModuleNotFoundError: No module named 'weasyprint'", Level.none),
        (
            "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.",
            Level.none,
        ),
        ('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space', Level.none),
        ("chown: changing ownership of '/app/var': Operation not permitted", Level.none),
    ],
)
def test_levels_of_common_formats(line: str, level: Level) -> None:
    assert line_level(line) == level


def test_info_lines_and_other_categories_push_a_line_back_but_its_own_death_does_not() -> None:
    lines = [
        "chown: /app/var: Operation not permitted",  # 0: permission evidence, unleveled
        "2026-11-25 09:45:02,812 INFO starting",  # 1: the process carries on
        "Traceback (most recent call last):",  # 2
        '  File "/app/db.py", line 3, in <module>',  # 3: a frame
        'psycopg2.OperationalError: could not translate host name "db" to address',  # 4: dependency
        "ERROR shutting down",  # 5: the dying sequence, no evidence
    ]
    levels = line_levels(lines)
    evidence = [frozenset({"permission_denied"}), frozenset(), frozenset(), frozenset()]
    evidence += [frozenset({"dependency_unavailable"}), frozenset()]
    early = line_weight(0, levels, evidence, "permission_denied")
    terminal = line_weight(4, levels, evidence, "dependency_unavailable")
    assert early.pushes == 2 and not early.terminal
    assert terminal.pushes == 0 and terminal.terminal and terminal.factor == 1.0
    # Another line of the same category corroborates instead of pushing: only the info line pushes.
    assert line_weight(0, levels, evidence, "dependency_unavailable").pushes == 1
    assert (
        line_weight(4, levels, [frozenset({"dependency_unavailable"})] * 6, "dependency_unavailable").pushes
        == 0
    )


def test_an_info_line_weighs_less_than_an_error_line_at_the_same_place() -> None:
    levels = line_levels(["INFO: config file is read-only", "ERROR: config file is read-only"])
    none = [frozenset(), frozenset()]
    assert line_weight(0, levels, none, "x").factor == 0.3
    assert line_weight(1, levels, none, "x").factor == 1.0
