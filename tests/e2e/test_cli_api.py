"""`aiops approvals` and `aiops records` as a user runs them: they call a running receiver's HTTP API with
a token (never Redis), record the token's name as the decider, and fail with a clear message and exit
code otherwise. Also: every option of every verb says what it does, its default and what it accepts."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from receiver.app import create_app
from receiver.cli import build_parser
from rules.registry import RuleRegistry
from tests.integration.core.test_approvals_api import park
from tests.support.receiver_api import TOKENS, token_book
from tests.support.served import ServedApp
from tests.support.servers import free_port
from workers.settings import DEFAULT_RULES_DIR, Settings
from workers.spine.context import Context

ROOT = Path(__file__).resolve().parents[2]


def aiops(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # The CLI must not need Redis: the variables that would point at one are removed.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIOPS_", "REDIS_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "receiver.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**base, **(env or {})},
    )


@pytest.fixture
def receiver(redis_server, redis_conn) -> Iterator[tuple[str, Context]]:
    context = Context(
        settings=Settings.model_validate({"redis": {"url": redis_server.url}}),
        redis=redis_conn,
        rules=RuleRegistry(DEFAULT_RULES_DIR),
        clock=lambda: datetime.now(UTC),
    )
    with ServedApp(create_app(context, token_book())) as served:
        yield served.url, context


def token_env(url: str, tmp_path: Path, role: str | None) -> dict[str, str]:
    env = {"AIOPS_CLI_URL": url}
    if role is not None:
        path = tmp_path / f"{role}.token"
        path.write_text(TOKENS[role] + "\n")
        env["AIOPS_CLI_TOKEN_FILE"] = str(path)
    return env


def test_approve_with_an_approver_token_records_the_tokens_name(receiver, tmp_path) -> None:
    url, context = receiver
    park(context)
    env = token_env(url, tmp_path, "approver")
    approved = aiops("approvals", "approve", "p-0001", "--comment", "checked the log", env=env)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == "p-0001 approved by approver-user; its execution is queued"
    proposal = context.proposals.get("p-0001")
    assert proposal.status == "approved" and proposal.decided_by == "approver-user"
    approval = next(e for e in context.records.get("r-0001")["entries"] if e["kind"] == "approval")
    assert approval["data"]["by"] == "approver-user" and approval["data"]["comment"] == "checked the log"

    again = aiops("approvals", "reject", "p-0001", "--reason", "too late", env=env)
    assert again.returncode == 7 and "not pending" in again.stderr
    missing = aiops("approvals", "approve", "p-nope", env=env)
    assert missing.returncode == 6 and "no proposal p-nope" in missing.stderr


def test_reject_through_the_api_as_json(receiver, tmp_path) -> None:
    url, context = receiver
    park(context)
    env = {"AIOPS_CLI_URL": url, "AIOPS_CLI_TOKEN": TOKENS["approver"]}
    rejected = aiops("approvals", "reject", "p-0001", "--reason", "wrong fix", "--format", "json", env=env)
    assert rejected.returncode == 0, rejected.stderr
    body = json.loads(rejected.stdout)
    assert body["status"] == "rejected" and body["decided_by"] == "approver-user"


def test_a_viewer_token_reads_but_may_not_decide(receiver, tmp_path) -> None:
    url, context = receiver
    park(context)
    env = token_env(url, tmp_path, "viewer")
    listed = aiops("approvals", "list", "--status", "pending", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("p-0001  pending    Pod shop/web-1  rollback-deployment")
    shown = aiops("approvals", "show", "p-0001", env=env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == "p-0001"
    refused = aiops("approvals", "approve", "p-0001", env=env)
    assert refused.returncode == 5
    assert "role viewer may not decide" in refused.stderr
    assert context.proposals.get("p-0001").status == "pending"
    assert "approval" not in context.records.kinds("r-0001")


def test_no_token_is_a_clear_error_naming_the_setting(receiver) -> None:
    url, context = receiver
    park(context)
    result = aiops("approvals", "approve", "p-0001", env={"AIOPS_CLI_URL": url})
    assert result.returncode == 2
    assert "cli.token_file (env AIOPS_CLI_TOKEN_FILE)" in result.stderr
    assert context.proposals.get("p-0001").status == "pending"


def test_unknown_token_unreachable_receiver_and_removed_identity_flag(receiver, tmp_path) -> None:
    url, context = receiver
    park(context)
    unknown = aiops("approvals", "list", env={"AIOPS_CLI_URL": url, "AIOPS_CLI_TOKEN": "x" * 24})
    assert unknown.returncode == 4 and "did not accept the token" in unknown.stderr
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = aiops("approvals", "list", env=token_env(nowhere, tmp_path, "viewer"))
    assert unreachable.returncode == 3
    assert f"cannot reach the receiver at {nowhere} (cli.url, env AIOPS_CLI_URL)" in unreachable.stderr
    old = aiops(
        "approvals", "approve", "p-0001", "--identity", "mallory", env=token_env(url, tmp_path, "approver")
    )
    assert old.returncode == 2 and "unrecognized arguments: --identity" in old.stderr
    assert context.proposals.get("p-0001").status == "pending"


def test_records_list_and_show(receiver, tmp_path) -> None:
    url, context = receiver
    park(context)
    context.records.open("r-gone", {"rule": "pod-crashloop", "alertname": "KubePodCrashLooping"})
    context.records.set_meta("r-gone", target={"kind": "Pod", "namespace": "shop", "name": "ghost"})
    context.records.append("r-gone", "target_gone", {"detail": "pod shop/ghost not found"})
    env = token_env(url, tmp_path, "viewer")
    gone = aiops("records", "list", "--status", "target_gone", "--since", "1h", env=env)
    assert gone.returncode == 0, gone.stderr
    lines = gone.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("r-gone  target_gone")
    assert "pod-crashloop  Pod shop/ghost" in lines[0]
    every = json.loads(aiops("records", "list", "--format", "json", env=env).stdout)
    assert {item["id"]: item["status"] for item in every["items"]} == {
        "r-gone": "target_gone",
        "r-0001": "proposed",
    }
    shown = aiops("records", "show", "r-gone", env=env)
    assert (
        shown.returncode == 0 and "target gone" in shown.stdout and "pod shop/ghost not found" in shown.stdout
    )
    bad = aiops("records", "list", "--since", "last week", env=env)
    assert bad.returncode == 1 and "neither a duration" in bad.stderr
    assert aiops("records", "show", "r-nope", env=env).returncode == 6


def _verbs(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _verbs(child, (*path, name))


def test_every_option_says_what_it_does_its_default_and_choices() -> None:
    checked = 0
    for path, parser in _verbs(build_parser()):
        if path[:1] == ("rules",):
            continue  # the rules verbs' options are documented with their own change
        for action in parser._actions:
            if (
                isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
                or not action.option_strings
            ):
                continue
            where = f"aiops {' '.join(path)} {action.option_strings[0]}"
            assert action.help, f"{where} has no help"
            if not action.required and not isinstance(action, argparse._StoreTrueAction):
                assert "default" in action.help, f"{where} does not say its default"
            if action.nargs != 0:
                assert action.metavar or action.choices, f"{where} shows no metavar or choices"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    ("verb", "variables"),
    [
        (("serve",), ["AIOPS_TOKENS_FILE", "REDIS_URL", "AIOPS_CONFIG"]),
        (("worker",), ["REDIS_URL", "PROMETHEUS_URL", "KUBECONFIG"]),
        (("cron",), ["REDIS_URL"]),
        (("watch",), ["KUBECONFIG", "REDIS_URL"]),
        (("approvals", "approve"), ["AIOPS_CLI_URL", "AIOPS_CLI_TOKEN_FILE", "AIOPS_CLI_TOKEN"]),
        (("records", "list"), ["AIOPS_CLI_URL", "AIOPS_CLI_TOKEN_FILE"]),
    ],
)
def test_every_verbs_help_names_the_environment_it_needs(verb: tuple[str, ...], variables: list[str]) -> None:
    result = aiops(*verb, "--help")
    assert result.returncode == 0
    assert "Environment:" in result.stdout
    for variable in variables:
        assert variable in result.stdout, f"aiops {' '.join(verb)} --help does not name {variable}"
    if verb[0] in ("approvals", "records"):
        assert "Exit codes:" in result.stdout and "403" in result.stdout
