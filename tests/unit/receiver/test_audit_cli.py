"""`aiops audit compliance` refuses a bad --since before it reaches Redis, with exit status 2."""

from __future__ import annotations

from receiver.cli import main


def test_a_bad_since_is_a_configuration_error(capsys) -> None:
    assert main(["audit", "compliance", "--since", "last tuesday"]) == 2
    said = capsys.readouterr().err
    assert "--since: 'last tuesday' is neither a duration" in said and "REDIS_URL" not in said
