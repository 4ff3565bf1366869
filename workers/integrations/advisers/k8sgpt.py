"""k8sgpt as an adviser: ``k8sgpt analyze -o json --filter Pod -n NS`` on the target's namespace.

k8sgpt reads the cluster itself, so it gets no question from us; it is asked only to analyse Pods
of one namespace. ``--explain`` (which sends k8sgpt's findings to its own AI backend) is added only
when configured, and then always with ``--anonymize`` so that k8sgpt masks object names and
sensitive values before they reach that backend. Findings come from ``results[].error[].Text``;
with ``--explain`` the explanation comes from ``results[].details``.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from workers.integrations.advisers.base import (
    AdviceRequest,
    AdviceResult,
    AdviceStatus,
    ConfiguredAdviser,
    summarize_text,
)
from workers.integrations.advisers.classify import recommendations_from_text
from workers.integrations.advisers.process import CommandNotFound, CommandResult, resolve_binary, run_command
from workers.settings import K8sgptSettings

NAME = "k8sgpt"


def build_argv(settings: K8sgptSettings, binary: str, namespace: str) -> list[str]:
    """The exact argument list for a JSON analysis of the Pods in ``namespace``."""
    argv = [binary, "analyze", "-o", "json", "--filter", "Pod", "-n", namespace]
    if settings.explain:
        argv += ["--explain", "--anonymize"]
    if settings.kubeconfig:
        argv += ["--kubeconfig", str(settings.kubeconfig)]
    return argv


def _result_name(result: dict[str, Any]) -> str:
    return str(result.get("name") or "?")


def interpret(result: CommandResult, target: dict[str, Any], timeout_s: float) -> AdviceResult:
    """Read k8sgpt's JSON report; the target pod's problems are listed first."""
    out = AdviceResult(adviser=NAME, status=AdviceStatus.ok, raw=result.stdout.strip())
    if result.timed_out:
        out.status = AdviceStatus.timeout
        out.detail = f"no answer within {timeout_s:.1f}s; its process group was killed"
        return out
    if result.returncode != 0:
        out.status = AdviceStatus.error
        out.raw = result.output.strip()
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        out.detail = f"k8sgpt exited with {result.returncode}: {' | '.join(tail)[:500]}"
        return out
    try:
        report = json.loads(result.stdout)
        if not isinstance(report, dict):
            raise ValueError("top level is not an object")
        results = report.get("results") or []
        if not isinstance(results, list):
            raise ValueError("results is not a list")
    except ValueError as exc:
        out.status = AdviceStatus.error
        out.detail = f"k8sgpt printed something that is not its JSON report: {exc}"
        return out
    wanted = f"{target.get('namespace')}/{target.get('name')}"
    ordered = sorted(results, key=lambda item: _result_name(item) != wanted)
    explanations = []
    for item in ordered:
        for failure in item.get("error") or []:
            text = failure.get("Text") if isinstance(failure, dict) else None
            if text:
                out.findings.append(f"{item.get('kind', 'Pod')} {_result_name(item)}: {text}")
        if item.get("details"):
            explanations.append(f"{_result_name(item)}:\n{item['details']}")
    errors = [str(error) for error in report.get("errors") or []]
    if errors:
        out.detail = "k8sgpt analyzer warnings: " + "; ".join(errors)[:500]
    if not out.findings:
        out.status = AdviceStatus.no_findings
        out.summary = f"k8sgpt found no Pod problems in namespace {target.get('namespace')}"
        return out
    target_findings = [finding for finding in out.findings if wanted in finding]
    out.summary = (target_findings or out.findings)[0]
    if explanations:
        out.summary = summarize_text(explanations[0].split("\n", 1)[1]) or out.summary
        out.recommendations = recommendations_from_text("\n\n".join(explanations))
    return out


class K8sgptAdviser(ConfiguredAdviser[K8sgptSettings]):
    """Ask k8sgpt to analyse the Pods of the target's namespace."""

    name = NAME

    def probe(self) -> bool:
        """Usable when the binary can be run (and the configured kubeconfig, if any, exists)."""
        if self.settings.kubeconfig is not None and not self.settings.kubeconfig.is_file():
            self.unavailable_reason = (
                f"kubeconfig {self.settings.kubeconfig} (advisers.k8sgpt.kubeconfig) is missing"
            )
            return False
        if resolve_binary(self.settings.binary) is None:
            self.unavailable_reason = f"binary {self.settings.binary!r} not found or not executable"
            return False
        self.unavailable_reason = ""
        return True

    def advise(self, request: AdviceRequest, timeout_s: float) -> AdviceResult:
        started = self.clock()
        namespace = request.target.get("namespace")
        if not namespace:
            return AdviceResult(adviser=NAME, status=AdviceStatus.skipped, detail="target has no namespace")
        if not self.probe():
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=self.unavailable_reason)
        binary = resolve_binary(self.settings.binary) or self.settings.binary
        argv = build_argv(self.settings, binary, str(namespace))
        try:
            result = run_command(
                argv,
                stdin=None,
                timeout_s=timeout_s,
                env=self.settings.process_environment(),
                clock=self.clock,
            )
        except CommandNotFound as exc:
            return AdviceResult(adviser=NAME, status=AdviceStatus.unavailable, detail=str(exc))
        advice = interpret(result, request.target, timeout_s)
        # No free text is sent: the command line is the question.
        advice.question = shlex.join(["k8sgpt", *argv[1:]])
        advice.duration_s = self.clock() - started
        return advice
