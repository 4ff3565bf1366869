"""What ``aiops VERB --help`` says about the environment each verb reads, and the CLI client's exit codes."""

from __future__ import annotations

import argparse
from typing import Any

from receiver.errors import EXIT_CODES

# What each variable is for, as the verbs' help shows it (every setting: docs/settings.md).
ENVIRONMENT = {
    "AIOPS_CONFIG": "settings YAML file; every key also has an AIOPS_<SECTION>_<KEY> variable",
    "REDIS_URL": "the Redis every part shares, e.g. redis://redis:6379/0 (unset: the embedded one)",
    "AIOPS_TOKENS_FILE": "YAML list of {name, role, token | sha256}: who may post alerts, read, decide",
    "AIOPS_RULES_DIR": "directory of rule files (default: the bundled rules/library)",
    "PROMETHEUS_URL": "Prometheus for evidence and validation (default http://127.0.0.1:9090)",
    "KUBECONFIG": "cluster to read and act on (unset: in-cluster service account, else ~/.kube/config)",
    "AIOPS_NOTIFY_PUBLIC_URL": "base URL of notification links (unset: relative links, and a warning)",
    "AIOPS_CLI_URL": "receiver to call (default http://127.0.0.1:<server.port>)",
    "AIOPS_CLI_TOKEN_FILE": "file holding the API token: viewer reads, approver also decides",
    "AIOPS_CLI_TOKEN": "the API token itself, instead of a file",
}
_CLIENT_NOTE = (
    "These verbs call the receiver's HTTP API (it must be running) with a token; nothing is written to\n"
    "Redis directly, and a decision is recorded as made by the token's name (decided_by).\n\n"
    "Exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
)
# verb -> (variables it reads, a note shown before them)
VERB_ENVIRONMENT: dict[str, tuple[tuple[str, ...], str]] = {
    "serve": (
        ("AIOPS_CONFIG", "AIOPS_TOKENS_FILE", "REDIS_URL", "AIOPS_RULES_DIR", "AIOPS_NOTIFY_PUBLIC_URL"),
        "AIOPS_TOKENS_FILE must hold an approver token unless --dev is given.",
    ),
    "worker": (
        (
            "AIOPS_CONFIG",
            "REDIS_URL",
            "PROMETHEUS_URL",
            "KUBECONFIG",
            "AIOPS_RULES_DIR",
            "AIOPS_NOTIFY_PUBLIC_URL",
        ),
        "",
    ),
    "cron": (("AIOPS_CONFIG", "REDIS_URL"), ""),
    "watch": (("AIOPS_CONFIG", "KUBECONFIG", "REDIS_URL", "AIOPS_RULES_DIR"), ""),
    "rules": ((), "Works on the files given; reads no settings and needs no running part."),
    "approvals": (("AIOPS_CONFIG", "AIOPS_CLI_URL", "AIOPS_CLI_TOKEN_FILE", "AIOPS_CLI_TOKEN"), _CLIENT_NOTE),
    "records": (("AIOPS_CONFIG", "AIOPS_CLI_URL", "AIOPS_CLI_TOKEN_FILE", "AIOPS_CLI_TOKEN"), _CLIENT_NOTE),
    "settings": ((), "Reads the settings model only; no environment needed."),
    "sandbox": ((), "Needs no environment: it serves the manifests of DIRECTORY."),
    "scaling": (
        ("AIOPS_CONFIG", "PROMETHEUS_URL", "KUBECONFIG"),
        "Read-only: it changes nothing in the cluster.",
    ),
    "rightsize": (
        ("AIOPS_CONFIG", "PROMETHEUS_URL", "KUBECONFIG"),
        "Read-only: it changes nothing in the cluster (POST /api/v1/rightsizing parks proposals).",
    ),
    "report": (
        ("AIOPS_CONFIG", "PROMETHEUS_URL", "KUBECONFIG"),
        "Read-only, needs no Redis: nothing is stored (the scheduled run, aiops cron, stores and compares).",
    ),
    "demo": (
        ("REDIS_URL",),
        "Starts everything it needs itself (embedded Redis unless REDIS_URL is set, the sandbox cluster,\n"
        "Prometheus when installed, a receiver and a worker) and stops it all at the end.",
    ),
}


def document_environment(sub: Any) -> None:
    """Give every verb an epilog naming the environment it reads (VERB_ENVIRONMENT)."""
    for name, verb in sub.choices.items():
        names, note = VERB_ENVIRONMENT.get(name, ((), ""))
        parts = [note] if note else []
        if names:
            width = max(len(var) for var in names)
            rows = "\n".join(f"  {var:<{width}}  {ENVIRONMENT[var]}" for var in names)
            parts.append(f"Environment:\n{rows}")
        parts.append("Every setting: docs/settings.md.")
        verb.epilog = "\n\n".join(parts)
        verb.formatter_class = argparse.RawDescriptionHelpFormatter
        for child in subparsers_of(verb):
            child.epilog = verb.epilog
            child.formatter_class = argparse.RawDescriptionHelpFormatter


def subparsers_of(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.values())
    return found
