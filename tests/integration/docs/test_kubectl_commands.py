"""Every ``kubectl`` command in docs/runbooks/ and docs/fallback/ parses: a real verb (a leaf command, not a
group like ``rollout``), real flags with values of the right type, as the installed kubectl sees them.

Each command is taken from the pages' shell blocks (continuation lines joined, pipes, ``;``, ``&&``,
redirections and ``$(...)`` split apart, comments dropped), its shell variables and ``<placeholders>``
replaced by sample values, and run as ``kubectl ... --help``: kubectl (cobra) parses every flag of the
resolved command before it prints the help, so an unknown verb or flag, or a flag value of the wrong type,
fails without a cluster; a group printed instead of a leaf command ("Available Commands:") fails too.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = sorted([*(ROOT / "docs" / "runbooks").glob("*.md"), *(ROOT / "docs" / "fallback").glob("*.md")])
KUBECTL = shutil.which("kubectl")
FENCE = re.compile(r"^```(\w*)\s*$")
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console"}
SEPARATORS = {"|", "||", "&&", ";", "&", ";;"}
REDIRECTS = {">", ">>", "<", "<<", "2>", "&>", ">&", "<<<"}
# Sample values of the variables the pages use; any other variable becomes "sample".
SAMPLES = {"NS": "shop", "POD": "checkout-7d9f-abcde", "C": "app", "DEPLOY": "checkout", "D": "checkout"}
NUMERIC_FLAG = re.compile(r"^--?(?:to-)?(?:revision|replicas|tail|min|max|cpu-percent|since-time|limit)=")


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: kubectl {shlex.join(self.args)}"


def shell_lines(text: str) -> list[tuple[int, str]]:
    """(line number, command line) of the page's shell blocks, continuation lines joined."""
    found: list[tuple[int, str]] = []
    inside, shell, pending, start = False, False, "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(raw.strip())
        if fence:
            inside, shell = (not inside), (not inside and fence.group(1) in SHELL_BLOCKS)
            continue
        if not (inside and shell):
            continue
        line = raw.strip().removeprefix("$ ")
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        if _open_quote(pending + line):
            pending += line + "\n"  # a quoted string goes on to the next line
            continue
        found.append((start, pending + line))
        pending = ""
    return found


def _open_quote(line: str) -> bool:
    try:
        shlex.split(line, comments=True)
    except ValueError:
        return True
    return False


def _placeholders(line: str) -> str:
    """``<current>``, ``<id>``: a number after a numeric flag, else a name (before the shell sees ``<``)."""

    def value(match: re.Match[str]) -> str:
        return "1" if NUMERIC_FLAG.match(match.group(1) or "") else "sample"

    return re.sub(r"(\S*=)?(?<![<\w])<[A-Za-z][\w .-]*>", lambda m: (m.group(1) or "") + value(m), line)


def _sample(token: str) -> str:
    token = re.sub(r"\$\{?(\w+)\}?", lambda m: SAMPLES.get(m.group(1), "sample"), token)
    if NUMERIC_FLAG.match(token) and token.endswith("=sample"):
        token = token[: -len("sample")] + "1"
    return token


def commands_in(line: str) -> list[list[str]]:
    """The kubectl commands of one shell line, outer and inner (``$(...)``) alike."""
    lexer = shlex.shlex(_placeholders(line), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        return [["__unparseable_shell__", line]]
    done: list[list[str]] = []
    stack: list[list[str]] = [[]]
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if token in REDIRECTS or re.fullmatch(r"\d?[<>]+&?\d?", token):
            skip_next = token not in (">&",)
            continue
        if token == "(":
            if stack[-1] and stack[-1][-1].endswith("$"):
                stack[-1][-1] = stack[-1][-1][:-1]
                if not stack[-1][-1] or stack[-1][-1].endswith("="):
                    stack[-1][-1] += "sample"
            stack.append([])
            continue
        if token == ")":
            if len(stack) > 1:
                done.append(stack.pop())
            continue
        if token in SEPARATORS:
            done.append(stack[-1])
            stack[-1] = []
            continue
        stack[-1].append(token)
    done.extend(stack)
    kubectl = []
    for found in done:
        words = list(found)
        while words and re.fullmatch(r"\w+=.*", words[0]):  # leading variable assignments
            words = words[1:]
        if words and words[0] == "kubectl":
            kubectl.append([_sample(word) for word in words[1:]])
    return kubectl


def collect(pages: list[Path]) -> list[Command]:
    found = []
    for page in pages:
        for number, line in shell_lines(page.read_text(encoding="utf-8")):
            for args in commands_in(line):
                found.append(Command(str(page.relative_to(ROOT)), number, tuple(args)))
    return found


def problem(command: Command) -> str | None:
    """Why kubectl does not accept ``command``; None when it parses."""
    assert KUBECTL is not None
    args = list(command.args)
    if args and args[0] == "__unparseable_shell__":
        return f"{command}: the shell line does not parse"
    result = subprocess.run(
        [KUBECTL, *args, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "KUBECONFIG": "/nonexistent"},
    )
    if result.returncode != 0:
        said = result.stderr.strip().splitlines()
        return f"{command}: {said[0] if said else result.returncode}"
    if "Available Commands:" in result.stdout and _group_usage(result.stdout):
        return f"{command}: names a group of commands, not a command"
    return None


def _group_usage(help_text: str) -> bool:
    """The help is a group's (``kubectl rollout SUBCOMMAND [options]``), not a command's that also has
    subcommands (``kubectl apply (-f FILENAME | -k DIRECTORY) [options]``)."""
    lines = help_text.splitlines()
    usage = next((lines[i + 1].split() for i, line in enumerate(lines[:-1]) if line.strip() == "Usage:"), [])
    rest = [word for word in usage[1:] if not re.fullmatch(r"[a-z][\w-]*", word)]
    return all(word in ("SUBCOMMAND", "[flags]", "[options]") for word in rest)


def problems(found: list[Command]) -> list[str]:
    unique = {command.args: command for command in found}
    with ThreadPoolExecutor(max_workers=4) as pool:
        return [p for p in pool.map(problem, unique.values()) if p]


@pytest.fixture(scope="module")
def kubectl() -> str:
    assert KUBECTL is not None, "kubectl is missing: scripts/setup installs it"
    return KUBECTL


def test_every_kubectl_command_in_runbooks_and_fallbacks_parses(kubectl) -> None:
    found = collect(PAGES)
    pages = {command.page for command in found}
    assert "docs/fallback/responder-down.md" in pages and "docs/runbooks/template.md" in pages
    assert len(found) > 50, "the extraction found too few commands: it is broken"
    assert problems(found) == []


def test_the_check_refuses_unknown_verbs_flags_values_and_groups(kubectl, tmp_path) -> None:
    page = tmp_path / "bad.md"
    page.write_text(
        "```sh\n"
        "NS=shop\n"
        "kubectl -n $NS rollout undoo deployment/x\n"
        "kubectl -n $NS get pods --bogus | head\n"
        "kubectl -n $NS logs $POD --tail=many\n"
        "kubectl rollout deployment/x\n"
        'D=$(kubectl -n $NS get rs -o jsonpath="{.items[0].metadata.name}" --nope)\n'
        "kubectl -n $NS get pods \\\n  --field-selector=status.phase!=Running\n"
        "```\n"
    )
    found = [Command("bad.md", c.line, c.args) for c in collect_from(page)]
    assert [c.line for c in found] == [3, 4, 5, 6, 7, 8]
    refused = problems(found)
    assert len(refused) == 5, refused
    assert not any(":8:" in reason for reason in refused)  # the continued line is fine


def collect_from(page: Path) -> list[Command]:
    return [
        Command(page.name, number, tuple(args))
        for number, line in shell_lines(page.read_text())
        for args in commands_in(line)
    ]
