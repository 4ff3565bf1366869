"""kubectl-ai as an adviser: one run-once (``--quiet``) question, evidence on stdin, read-only kubeconfig.

kubectl-ai has no JSON output and its exit code is unreliable, so the outcome is read from its text:
exit 0 with "Maximum number of iterations reached." or "Empty response from LLM" is a failure;
exit 1 with "RunOnce mode cannot handle permission requests" means it wanted to change the cluster
and was stopped by its own permission check — recorded as mutating recommendations, not an error.
``--skip-permissions`` is never passed, and the tool is refused unless a kubeconfig (meant to be
bound to a read-only role) is configured.
"""

from __future__ import annotations

import re

from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    ConfiguredAdviser,
    bullet_points,
    summarize_text,
)
from workers.integrations.advisers.classify import recommend, recommendations_from_text
from workers.integrations.advisers.process import CommandNotFound, CommandResult, resolve_binary, run_command
from workers.settings import KubectlAiSettings

NAME = "kubectl-ai"
PERMISSION_REFUSED = "RunOnce mode cannot handle permission requests"
GAVE_UP_MESSAGES = ("Maximum number of iterations reached.", "Empty response from LLM")
FORBIDDEN_FLAGS = frozenset({"--skip-permissions"})
# Lines kubectl-ai prints for the (read-only) tools it ran itself, e.g. "  Running: kubectl get pods".
_RAN = re.compile(r"^\s*Running:\s*(.+?)\s*$", re.MULTILINE)


def build_argv(settings: KubectlAiSettings, binary: str, question: str) -> list[str]:
    """The exact argument list: run once, quiet, bounded iterations, read-only kubeconfig, the question."""
    argv = [binary, "--quiet", "--llm-provider", settings.llm_provider]
    if settings.model:
        argv += ["--model", settings.model]
    argv += ["--max-iterations", str(settings.max_iterations)]
    argv += ["--kubeconfig", str(settings.kubeconfig), question]
    if FORBIDDEN_FLAGS & set(argv[:-1]):
        raise ValueError("kubectl-ai must never run with --skip-permissions")
    return argv


def parse_permission_request(output: str) -> list[str]:
    """The commands listed after "The following commands require approval:"."""
    commands = []
    after = output.split(PERMISSION_REFUSED, 1)[1]
    for line in after.splitlines():
        stripped = line.strip()
        if stripped.startswith("* "):
            commands.append(stripped[2:].strip())
        elif commands and stripped.startswith("Use --skip-permissions"):
            break
    return commands


def interpret(result: CommandResult, timeout_s: float, max_iterations: int) -> AdviceResult:
    """Read kubectl-ai's outcome from its exit code and text (stdout and stderr)."""
    out = AdviceResult(adviser=NAME, status=AdviceStatus.ok, raw=result.output.strip())
    if result.timed_out:
        out.status = AdviceStatus.timeout
        out.detail = f"no answer within {timeout_s:.1f}s; its process group was killed"
        return out
    if PERMISSION_REFUSED in result.output:
        commands = parse_permission_request(result.output)
        out.summary = (
            "kubectl-ai wanted to change the cluster; its run-once permission check stopped it. "
            "The commands are shown for a person to judge and were not run."
        )
        text = "kubectl-ai asked for approval to run this (refused: run-once mode, no --skip-permissions)"
        out.recommendations = [recommend(command, text=text, risk="mutating") for command in commands]
        out.findings = [f"wanted to run: {command}" for command in commands]
        if not commands:
            out.detail = "permission request without a readable command list"
        return out
    for message in GAVE_UP_MESSAGES:
        if message in result.output:
            out.status = AdviceStatus.error
            hint = f" (--max-iterations {max_iterations})" if message.startswith("Maximum") else ""
            out.detail = f"kubectl-ai gave up: {message}{hint}"
            return out
    if result.returncode != 0:
        out.status = AdviceStatus.error
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        out.detail = f"kubectl-ai exited with {result.returncode}: {' | '.join(tail)[:500]}"
        return out
    answer = _RAN.sub("", result.stdout).strip()
    if not answer:
        out.status = AdviceStatus.error
        out.detail = "kubectl-ai exited 0 with no answer"
        return out
    ran = [f"ran (read-only): {command}" for command in _RAN.findall(result.stdout)]
    out.summary = summarize_text(answer)
    out.findings = bullet_points(answer) + ran
    out.recommendations = recommendations_from_text(answer)
    return out


class KubectlAiAdviser(ConfiguredAdviser[KubectlAiSettings]):
    """Ask kubectl-ai once, in run-once mode, with a read-only kubeconfig."""

    name = NAME

    def probe(self) -> bool:
        """Usable when the binary can be run and a read-only kubeconfig is configured and present."""
        kubeconfig = self.settings.kubeconfig
        if kubeconfig is None:
            self.unavailable_reason = (
                "no read-only kubeconfig configured (advisers.kubectl_ai.kubeconfig); "
                "kubectl-ai is not run with the worker's own credentials"
            )
            return False
        if not kubeconfig.is_file():
            self.unavailable_reason = f"kubeconfig {kubeconfig} (advisers.kubectl_ai.kubeconfig) is missing"
            return False
        if resolve_binary(self.settings.binary) is None:
            self.unavailable_reason = f"binary {self.settings.binary!r} not found or not executable"
            return False
        self.unavailable_reason = ""
        return True

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        started = self.clock()
        if not self.probe():
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=self.unavailable_reason)
        binary = resolve_binary(self.settings.binary) or self.settings.binary
        argv = build_argv(self.settings, binary, request.question)
        try:
            result = run_command(
                argv,
                stdin=request.context,
                timeout_s=timeout_s,
                env=self.settings.process_environment(),
                clock=self.clock,
            )
        except CommandNotFound as exc:
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=str(exc))
        advice = interpret(result, timeout_s, self.settings.max_iterations)
        advice.question = request.prompt  # kubectl-ai reads the argument, then stdin, as one query
        advice.duration_s = self.clock() - started
        return advice
