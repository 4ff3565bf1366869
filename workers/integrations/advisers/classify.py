"""Classify the kubectl and helm commands an adviser suggests, and map obvious ones to allowlisted actions.

Nothing here runs a command. A suggestion is ``read`` when its verb only reads (``get``,
``describe``, ``logs``...), ``mutating`` when it can change the cluster (``apply``, ``delete``,
``rollout undo``, ``helm upgrade``...) and ``unknown`` otherwise. A few suggestions map onto the
fixed action allowlist (``kubectl rollout undo deployment/x`` is ``rollback-deployment``), so that
they can be offered as an alternative proposal, always behind a person's approval.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from workers.integrations.advisers.base import Recommendation, RiskLevel

KUBECTL_READ = frozenset(
    {
        "get",
        "describe",
        "logs",
        "top",
        "explain",
        "api-resources",
        "api-versions",
        "cluster-info",
        "version",
        "events",
        "diff",
        "wait",
    }
)
KUBECTL_MUTATING = frozenset(
    {
        "apply",
        "patch",
        "delete",
        "scale",
        "set",
        "edit",
        "create",
        "replace",
        "label",
        "annotate",
        "cordon",
        "uncordon",
        "drain",
        "taint",
        "exec",
        "run",
        "expose",
        "autoscale",
        "cp",
        "attach",
        "debug",
        "certificate",
    }
)
ROLLOUT_READ = frozenset({"status", "history"})
ROLLOUT_MUTATING = frozenset({"undo", "restart", "pause", "resume"})
HELM_READ = frozenset(
    {
        "list",
        "ls",
        "status",
        "history",
        "get",
        "show",
        "inspect",
        "template",
        "search",
        "lint",
        "version",
        "env",
        "verify",
    }
)
HELM_MUTATING = frozenset({"install", "upgrade", "uninstall", "delete", "del", "rollback", "test"})

# kubectl global flags that take a separate value and may come before the verb.
_KUBECTL_VALUE_FLAGS = frozenset(
    {
        "-n",
        "--namespace",
        "--context",
        "--kubeconfig",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "--token",
        "--as",
        "--as-group",
        "--request-timeout",
        "--cache-dir",
        "-v",
        "--v",
    }
)
_HELM_VALUE_FLAGS = frozenset({"-n", "--namespace", "--kube-context", "--kubeconfig", "--kube-token"})

# Flags of the verbs we map to actions that take a separate value.
_ACTION_VALUE_FLAGS = frozenset(
    {
        "-c",
        "--container",
        "--containers",
        "--to-revision",
        "--limits",
        "--requests",
        "-l",
        "--selector",
        "-f",
        "--filename",
        "-p",
        "--patch",
        "--type",
        "--grace-period",
    }
)

_COMMAND_IN_TEXT = re.compile(r"(?:^|[`$>]\s*|\s)((?:kubectl|helm)\s[^`\n]+)")


def split_command(command: str) -> list[str]:
    """The words of a command line, shell quoting honoured (falling back to whitespace)."""
    try:
        return shlex.split(command)
    except ValueError:
        return command.split()


def _positionals(words: list[str], value_flags: frozenset[str]) -> list[str]:
    out = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-"):
            if word in value_flags:
                skip = True
            continue
        out.append(word)
    return out


def _kubectl_risk(args: list[str]) -> RiskLevel:
    words = _positionals(args, _KUBECTL_VALUE_FLAGS)
    if not words:
        return "unknown"
    verb = words[0]
    sub = words[1] if len(words) > 1 else ""
    if verb == "auth":
        return "read" if sub in ("can-i", "whoami") else "mutating" if sub == "reconcile" else "unknown"
    if verb == "rollout":
        return "read" if sub in ROLLOUT_READ else "mutating" if sub in ROLLOUT_MUTATING else "unknown"
    if verb == "config":
        return "read" if sub in ("view", "get-contexts", "current-context", "get-clusters") else "unknown"
    if verb in KUBECTL_READ:
        return "read"
    if verb in KUBECTL_MUTATING:
        return "mutating"
    return "unknown"


def classify_command(command: str) -> RiskLevel:
    """``read``, ``mutating`` or ``unknown`` for one kubectl or helm command line."""
    words = split_command(command.strip().lstrip("$ ").strip())
    if not words:
        return "unknown"
    tool = words[0].rsplit("/", 1)[-1]
    if tool in ("kubectl", "oc"):
        return _kubectl_risk(words[1:])
    if tool == "helm":
        positional = _positionals(words[1:], _HELM_VALUE_FLAGS)
        verb = positional[0] if positional else ""
        return "read" if verb in HELM_READ else "mutating" if verb in HELM_MUTATING else "unknown"
    return "unknown"


def _flag_value(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _resource_name(positional: list[str], kinds: tuple[str, ...]) -> str | None:
    """The name in ``kind/name`` or ``kind name`` form, for one of ``kinds``."""
    for index, word in enumerate(positional):
        kind, _, name = word.partition("/")
        if kind.lower() in kinds:
            if name:
                return name
            if index + 1 < len(positional):
                return positional[index + 1]
    return None


_DEPLOYMENT = ("deployment", "deployments", "deploy", "deployment.apps", "deployments.apps")
_POD = ("pod", "pods", "po")


def map_to_action(command: str) -> tuple[str | None, dict[str, Any]]:
    """The allowlisted action an obvious suggestion maps to, with parameters read from the command."""
    words = split_command(command.strip().lstrip("$ ").strip())
    if not words or words[0].rsplit("/", 1)[-1] not in ("kubectl", "oc"):
        return None, {}
    args = words[1:]
    positional = _positionals(args, _KUBECTL_VALUE_FLAGS | _ACTION_VALUE_FLAGS)
    namespace = _flag_value(args, "-n", "--namespace")
    base: dict[str, Any] = {"namespace": namespace} if namespace else {}
    verb = positional[0] if positional else ""
    if verb == "rollout" and len(positional) > 1 and positional[1] == "undo":
        name = _resource_name(positional[2:], _DEPLOYMENT)
        if name:
            params = {**base, "deployment": name}
            revision = _flag_value(args, "--to-revision")
            if revision and revision.isdigit():
                params["to_revision"] = int(revision)
            return "rollback-deployment", params
    if verb == "delete":
        name = _resource_name(positional[1:], _POD)
        if name:
            return "restart-pod", {**base, "pod": name}
    if verb == "set" and len(positional) > 1 and positional[1] == "resources":
        limits = _flag_value(args, "--limits") or ""
        memory = dict(item.split("=", 1) for item in limits.split(",") if "=" in item).get("memory")
        if memory:
            params = {**base, "memory": memory}
            container = _flag_value(args, "-c", "--containers", "--container")
            if container:
                params["container"] = container
            if len(positional) > 2:
                params["workload"] = positional[2] if "/" in positional[2] else "/".join(positional[2:4])
            return "raise-memory-limit", params
    if verb == "patch" and re.search(r"(liveness|readiness|startup)Probe", command):
        return "adjust-probe", base
    return None, {}


def extract_commands(text: str) -> list[str]:
    """kubectl/helm command lines found in free text (code blocks, backticks, ``$`` prompts, bullets)."""
    found: list[str] = []
    for match in _COMMAND_IN_TEXT.finditer(text):
        command = match.group(1).strip().rstrip(".;,:")
        command = re.sub(r"\s+#.*$", "", command).strip()
        # "use kubectl to look" is prose, not a command: keep only known verbs.
        if classify_command(command) != "unknown" and command not in found:
            found.append(command)
    return found


def recommend(command: str, text: str = "", risk: RiskLevel | None = None) -> Recommendation:
    """A recommendation for one suggested command; ``risk`` overrides the verb-based class."""
    action, params = map_to_action(command)
    return Recommendation(
        text=text or f"suggested: {command}",
        command=command,
        risk=risk or classify_command(command),
        action=action,
        params=params,
    )


def recommendations_from_text(text: str, exclude: tuple[str, ...] = ()) -> list[Recommendation]:
    """One recommendation per command an answer suggests, the line it appeared on as its text."""
    recommendations = []
    lines = text.splitlines()
    for command in extract_commands(text):
        if any(command.startswith(prefix) for prefix in exclude):
            continue
        context = next((line.strip() for line in lines if command in line), command)
        recommendations.append(recommend(command, text=context[:500]))
    return recommendations
