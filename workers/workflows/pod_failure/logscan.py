"""How much one log line counts: its level, and how far it is from the end of the process's life.

A process that dies prints its terminal error last; what it logged before and kept running after is
context, not the cause. Two facts of a line weigh its signals:

``level``   the line's own severity, read from the common log formats (JSON ``level``/``severity``,
            logfmt ``level=``, ``[error]``/``[emerg]``/``[ALERT]``, ``ERROR``/``WARN``/``INFO`` words,
            klog ``E1125``, Ruby ``E, [``, .NET ``fail:``, Celery ``ERROR/MainProcess``). A line with no
            level (a stack trace, a runtime's fatal message on stderr, a shell error) counts as an error.
``pushes``  how many later lines show the process carrying on: lines logged at info/warn/debug level,
            and lines that are specific evidence of another category. Stack frames, the error-level lines
            of the shutdown sequence ("Application run failed", "Shutting down"), generic crash reports
            and further evidence of the same category do not push: they belong to the same death.

``factor = LEVEL_FACTOR[level] / (1 + PUSH_DECAY x pushes)``: the terminal error block counts fully, a
warning that the process outlived counts a fraction, an info line that merely mentions a problem
almost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    """A log line's severity, lowest first in ``RANK``."""

    debug = "debug"
    info = "info"
    warn = "warn"
    error = "error"
    fatal = "fatal"
    none = "none"
    """No level in the line: stderr of a dying runtime, a stack frame, a shell message."""


LEVEL_FACTOR: dict[Level, float] = {
    Level.debug: 0.25,
    Level.info: 0.3,
    Level.warn: 0.6,
    Level.error: 1.0,
    Level.fatal: 1.0,
    Level.none: 1.0,
}
PUSH_DECAY = 0.35
"""Each later line that shows the process carrying on divides a line's weight by ``1 + 0.35 x pushes``."""
TERMINAL_FACTOR = 0.8
"""A line whose factor reaches this is part of the terminal error (the end of the log)."""

_WORDS = {
    "trace": Level.debug,
    "debug": Level.debug,
    "d": Level.debug,
    "info": Level.info,
    "information": Level.info,
    "notice": Level.info,
    "i": Level.info,
    "warn": Level.warn,
    "warning": Level.warn,
    "w": Level.warn,
    "error": Level.error,
    "err": Level.error,
    "fail": Level.error,
    "e": Level.error,
    "fatal": Level.fatal,
    "critical": Level.fatal,
    "crit": Level.fatal,
    "emerg": Level.fatal,
    "alert": Level.fatal,
    "panic": Level.fatal,
    "f": Level.fatal,
}
_PINO = {10: Level.debug, 20: Level.debug, 30: Level.info, 40: Level.warn, 50: Level.error, 60: Level.fatal}
_LEVEL_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\"(?:level|severity|lvl|log\.level)\"\s*:\s*\"?(?P<word>[A-Za-z]+|\d{2})\b"),  # JSON
    re.compile(r"(?i)\blevel=\"?(?P<word>[a-z]+)\b"),  # logfmt
    re.compile(r"^(?P<word>[IWEF])\d{4} \d\d:\d\d"),  # klog
    re.compile(r"^(?P<word>[DIWEF]), \["),  # Ruby Logger
    re.compile(
        r"(?i)[\[:(]\s*(?P<word>emerg|alert|crit|critical|error|err|warn|warning|notice|info|debug)\s*\]"
    ),
    re.compile(r"(?i)^\s*(?P<word>info|warn|fail|crit|dbug|trce):\s"),  # .NET console logger
    re.compile(r":\s(?P<word>DEBUG|INFO|WARNING|ERROR|CRITICAL)/"),  # Celery
    re.compile(r"(?i)\b(?P<word>fatal|critical|error|warning|warn|info|notice|debug|trace)\b\s*[:\]]"),
    re.compile(r"\b(?P<word>FATAL|CRITICAL|ERROR|WARN|WARNING|INFO|NOTICE|DEBUG|TRACE)\b"),
)
_SCAN_CHARS = 120


def line_level(line: str) -> Level:
    """The severity a line states about itself, or ``Level.none``."""
    head = line[:_SCAN_CHARS]
    best: tuple[int, Level] | None = None
    for pattern in _LEVEL_PATTERNS:
        found = pattern.search(head)
        if not found:
            continue
        word = found.group("word")
        level = _PINO.get(int(word)) if word.isdigit() else _WORDS.get(word.lower())
        if level is not None and (best is None or found.start() < best[0]):
            best = (found.start(), level)
    return best[1] if best else Level.none


@dataclass(frozen=True)
class LineWeight:
    """One line's level, how many later lines push it back, and the resulting factor."""

    level: Level
    pushes: int

    @property
    def factor(self) -> float:
        return round(LEVEL_FACTOR[self.level] / (1.0 + PUSH_DECAY * self.pushes), 3)

    @property
    def terminal(self) -> bool:
        return self.factor >= TERMINAL_FACTOR


_CARRY_ON = (Level.debug, Level.info, Level.warn)


def line_levels(lines: list[str]) -> list[Level]:
    """The level of every line (blank lines have none)."""
    return [line_level(line) if line.strip() else Level.none for line in lines]


def line_weight(index: int, levels: list[Level], evidence: list[frozenset[str]], category: str) -> LineWeight:
    """The weight of line ``index`` as evidence for ``category``; ``evidence[j]`` holds the categories whose
    specific signals match line ``j``."""
    pushes = sum(
        1
        for later in range(index + 1, len(levels))
        if levels[later] in _CARRY_ON or evidence[later] - {category}
    )
    return LineWeight(levels[index], pushes)
