"""Durations as rule authors write them: ``90s``, ``2m``, ``1h``, ``1h30m``, ``7d``.

A duration is one or more ``<integer><unit>`` parts with units ``d``, ``h``, ``m``, ``s``, each
used at most once and written largest first, the way Prometheus writes them. A bare number is
refused so that nobody has to guess whether ``30`` means seconds or minutes.
"""

from __future__ import annotations

import re

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

#: The JSON Schema / regex form of a duration (published in ``rules/schema.json``).
DURATION_PATTERN = r"^(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"

_DURATION = re.compile(r"(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+)s)?")
_NUMBER = re.compile(r"[0-9]+")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_EXAMPLES = "e.g. 90s, 2m, 1h, 1h30m, 7d"


def parse_duration(text: object) -> int:
    """Return the number of seconds in ``text`` (``"1h30m"`` -> 5400).

    Raises ``ValueError`` with a message that says what was wrong and shows valid examples (a value that
    is not a string included: rule validators hand over whatever the YAML held).
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string with a unit ({_EXAMPLES}), got {text!r}")
    value = text
    if not value:
        raise ValueError(f"a duration must not be empty ({_EXAMPLES})")
    if _NUMBER.fullmatch(value):
        raise ValueError(f"duration {text!r} has no unit; write {value}s or {value}m ({_EXAMPLES})")
    found = _DURATION.fullmatch(value)
    if found is None or not any(found.groupdict().values()):
        raise ValueError(
            f"invalid duration {text!r}: use whole numbers with units d, h, m, s, largest first ({_EXAMPLES})"
        )
    return sum(int(amount) * _UNIT_SECONDS[unit] for unit, amount in found.groupdict().items() if amount)


def format_duration(seconds: int) -> str:
    """Return the shortest duration text for ``seconds`` (5400 -> ``"1h30m"``, 0 -> ``"0s"``)."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds}")
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
