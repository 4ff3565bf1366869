"""Redact secret-looking values before any text leaves the process for an AI tool.

Two passes: ``redact_value`` walks structured evidence (Secret objects, env vars named like
passwords, keys named like tokens) and ``redact`` scrubs free text (logs, events, annotations):
bearer and basic headers, ``password=``-style pairs, AWS keys, JWTs, private key blocks, credentials
in URLs, well-known token formats and long base64-looking blobs. Both are idempotent and err on the
side of hiding too much.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Names of keys whose values are secrets; matched anywhere in the key (DB_PASSWORD, apiKey, ...).
_SECRET_NAME = re.compile(
    r"passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    r"credential|client[_-]?secret|auth[_-]?key|session[_-]?key|signing[_-]?key",
    re.IGNORECASE,
)
# ...unless the key names a reference to a secret rather than the secret itself.
_REFERENCE_SUFFIX = re.compile(
    r"(?:ref|refs|name|names|file|path|paths|ttl|seconds|expiry|expiration|expirationseconds|"
    r"audience|audiences|type|count|mode|enabled|kind)$",
    re.IGNORECASE,
)

_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\n\s*\n|\Z)", re.DOTALL
)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|token|digest|negotiate)\s+)?"
    r"([^\s\"',;]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@\"']+):([^/\s@\"']+)@")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[0-9A-Z]{16}\b")
_WELL_KNOWN_TOKENS = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20,})"
)
# key=value, key: value, "key": "value", --key=value, KEY="value" where the key names a secret.
_KEY_VALUE = re.compile(
    r"(?P<key>[A-Za-z0-9_.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|credential|auth[_-]?key)[A-Za-z0-9_.-]*)"
    r"(?P<sep>[\"']?[ \t]*[:=][ \t]*)(?P<quote>[\"']?)(?P<value>[^\s\"',;&})\]]+)",
    re.IGNORECASE,
)
# Long base64-looking runs (Secret data, keys pasted into logs); hex-only runs (digests) are left alone.
_BASE64ISH = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{40,}={0,2}(?![A-Za-z0-9+/=_-])")


def is_secret_name(name: str) -> bool:
    """True when a key or env var called ``name`` holds a secret (``DB_PASSWORD``, ``apiKey``)."""
    return bool(_SECRET_NAME.search(name)) and not _REFERENCE_SUFFIX.search(name)


def _key_value(match: re.Match[str]) -> str:
    key = match.group("key")
    value = match.group("value")
    if not is_secret_name(key.strip("-")) or value == REDACTED or value.startswith("[REDACTED"):
        return match.group(0)
    return f"{key}{match.group('sep')}{match.group('quote')}{REDACTED}"


def _auth_header(match: re.Match[str]) -> str:
    scheme = f"{match.group(2)} " if match.group(2) else ""
    return f"{match.group(1)}{scheme}{REDACTED}"


def _base64ish(match: re.Match[str]) -> str:
    run = match.group(0)
    body = run.rstrip("=")
    if re.fullmatch(r"[0-9a-fA-F]+", body):
        return run  # a digest or container id, not a secret
    # Random base64 of this length has all three; paths, names and words rarely do.
    mixed = all(re.search(pattern, body) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return REDACTED if mixed else run


def redact(text: str) -> str:
    """``text`` with secret-looking values replaced by ``[REDACTED]``."""
    if not text:
        return text
    text = _PRIVATE_KEY_BLOCK.sub("[REDACTED PRIVATE KEY]\n", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", text)
    text = _AUTH_HEADER.sub(_auth_header, text)
    text = _BEARER.sub(lambda m: m.group(0) if m.group(2) == REDACTED else f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _AWS_ACCESS_KEY.sub(REDACTED, text)
    text = _WELL_KNOWN_TOKENS.sub(REDACTED, text)
    text = _KEY_VALUE.sub(_key_value, text)
    return _BASE64ISH.sub(_base64ish, text)


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _redact_secret_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: redact_value(value) for key, value in obj.items() if key not in ("data", "stringData")}
    for key in ("data", "stringData"):
        if isinstance(obj.get(key), Mapping):
            out[key] = dict.fromkeys(obj[key], REDACTED)
    annotations = (
        (out.get("metadata") or {}).get("annotations") if isinstance(out.get("metadata"), dict) else None
    )
    if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
        annotations[_LAST_APPLIED] = REDACTED  # holds the whole Secret, data included
    return out


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like structure with secrets redacted; strings go through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        if value.get("kind") == "Secret":
            return _redact_secret_object(value)
        name = value.get("name")
        env_secret = isinstance(name, str) and is_secret_name(name) and "value" in value
        out: dict[str, Any] = {}
        for key, item in value.items():
            secret_env_value = env_secret and key == "value"
            secret_key = isinstance(key, str) and is_secret_name(key) and bool(item)
            if isinstance(item, str) and (secret_env_value or secret_key):
                out[key] = REDACTED
            else:
                out[key] = redact_value(item)
        return out
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value
