"""Redact secret-looking values from everything the responder stores, logs or sends to an AI tool.

Two passes: ``redact_value`` walks structures (Secret objects, every env var value, name/value pairs
and keys named like secrets, secret CLI flags in argument lists) and ``redact`` scrubs free text
(logs, events, annotations, answers): auth headers and cookies, ``password=``-style pairs, secret env
names and CLI flags followed by a value, credentials in URLs, private key blocks, JWTs, well-known
token formats and long base64-looking blobs. Both are idempotent, so stored text can be redacted
again and compared, and both err on the side of hiding too much; ordinary words are left alone.
``bounded`` also cuts stored text to a size limit with a visible marker.
"""

from __future__ import annotations

import collections
import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
TRUNCATED = "…[truncated {count} chars]"

# --- secret names ------------------------------------------------------------------------------------
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Name segments that are secrets on their own (DB_PASS, MYSQL_PWD, REDISCLI_AUTH, sig=, SENTRY_DSN).
_SECRET_SEGMENTS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "pass",
        "pw",
        "pwd",
        "pswd",
        "secret",
        "secrets",
        "token",
        "tokens",
        "credential",
        "credentials",
        "creds",
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "cookies",
        "sig",
        "signature",
        "dsn",
    }
)
# One-word compounds (PGPASSWORD, authToken written lower case, clientsecret) end with one of these.
_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "credential",
    "credentials",
)
# "<qualifier> key" is a secret (api key, AccountKey, private_key); "key" alone is not (configMapKeyRef.key).
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "encryption",
        "encrypt",
        "master",
        "signing",
        "session",
        "auth",
        "account",
        "storage",
        "ssh",
        "client",
        "app",
        "license",
        "shared",
        "hmac",
        "webhook",
        "subscription",
        "primary",
        "secondary",
    }
)
# A name that ends with one of these names a reference, a setting or a count, not the secret itself.
_REFERENCE_ENDINGS = frozenset(
    {
        "ref",
        "refs",
        "name",
        "names",
        "file",
        "files",
        "path",
        "paths",
        "dir",
        "ttl",
        "seconds",
        "expiry",
        "expires",
        "expiration",
        "audience",
        "audiences",
        "type",
        "types",
        "count",
        "mode",
        "enabled",
        "disabled",
        "kind",
        "length",
        "len",
        "size",
        "limit",
        "stdin",
        "prompt",
        "version",
        "policy",
        "url",
        "uri",
        "endpoint",
        "host",
        "method",
        "provider",
        "scheme",
        "format",
        "algorithm",
        "required",
        "source",
    }
)
# ... or when it starts with one of these (max_tokens); "existing" anywhere names a Secret (existingSecret).
_NOT_SECRET_PREFIXES = frozenset({"max", "min", "num"})
# Values that say something about a secret without being one.
_HARMLESS_VALUES = frozenset({"", "true", "false", "null", "none", "nil", "<none>", "<nil>", "yes", "no"})


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a key, env var, header or flag called ``name`` holds a secret (``DB_PASS``, ``apiKey``)."""
    words = [word.lower() for word in _WORDS.findall(name)]
    if (
        not words
        or words[-1] in _REFERENCE_ENDINGS
        or words[0] in _NOT_SECRET_PREFIXES
        or "existing" in words
    ):
        return False
    for index, word in enumerate(words):
        if word in _SECRET_SEGMENTS or word.endswith(_SECRET_ENDINGS):
            return True
        if word in ("key", "keys") and index and words[index - 1] in _KEY_QUALIFIERS:
            return True
        if word == "id" and index and words[index - 1] == "session":
            return True
    return False


_VARIABLE = re.compile(r"\$(?:\{|\(|[A-Za-z_])")  # $TOKEN, ${TOKEN}, $(TOKEN): a reference, not a value
_AUTH_SCHEMES = frozenset({"bearer", "basic", "digest", "negotiate", "token"})


def _harmless(value: str) -> bool:
    return value.lower() in _HARMLESS_VALUES or value.startswith("[REDACTED") or bool(_VARIABLE.match(value))


# --- free text ---------------------------------------------------------------------------------------
_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY((?: BLOCK)?)-----.*?"
    r"(?:-----END \1PRIVATE KEY\2-----|\n\s*\n|\Z)",
    re.DOTALL,
)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@\"'<>]*):([^/\s@\"'<>]+)@")
_WEBHOOK_URLS = re.compile(
    r"(?i)\b((?:hooks\.slack\.com/(?:services|workflows|triggers)|discord(?:app)?\.com/api/webhooks|"
    r"webhook\.office\.com/webhookb2)/)[A-Za-z0-9/@_-]+"
)
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"(?:(bearer|basic|token|digest|negotiate|bot|apikey)[ \t]+)?(?![{\[])([^\s\"',;]+)"
)
_COOKIE_HEADER = re.compile(r"(?i)(?<![\w-])((?:set-)?cookie[\"']?[ \t]*:[ \t]*[\"']?)([^\r\n\"']+)")
# An env var dumped as JSON or YAML text: {"name": "DB_PASS", "value": "x"}, or name: DB_PASS / value: x.
_NAME_VALUE_TEXT = re.compile(
    r"(?P<head>[\"']name[\"'][ \t]*:[ \t]*[\"'](?P<name>[^\"'\n]{1,120})[\"'][ \t]*,"
    r"[ \t]*[\"']value[\"'][ \t]*:[ \t]*)"
    r"(?P<quote>[\"'])(?P<value>[^\"'\n]*)(?P=quote)"
    r"|(?P<yhead>\bname:[ \t]*[\"']?(?P<yname>[\w.-]{1,120})[\"']?[ \t]*\r?\n[ \t]*value:[ \t]*)"
    r"(?P<yvalue>[^\s][^\n]*)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)[ \t]+([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}")
_AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[0-9A-Z]{16}\b")
_WELL_KNOWN_TOKENS = re.compile(
    r"\b(?:"
    r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|"  # GitHub
    r"gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,}|"  # GitLab
    r"xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}|"  # Slack
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{20,}|"  # Stripe
    r"AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{20,}|ya29\.[A-Za-z0-9_-]{20,}|"  # Google
    r"sk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}|"  # OpenAI, Anthropic
    r"npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,}|dckr_pat_[A-Za-z0-9_-]{20,}|"  # registries
    r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|"  # SendGrid
    r"SK[0-9a-fA-F]{32}|key-[0-9a-zA-Z]{32}|"  # Twilio, Mailgun
    r"hv[sbr]\.[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{40,}|"  # HashiCorp
    r"do[opr]_v1_[a-f0-9]{64}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|hf_[A-Za-z0-9]{30,}|"  # DO, Shopify, HF
    r"dapi[a-f0-9]{32}|ATATT3[A-Za-z0-9_=-]{40,}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}|"  # Databricks, Atlassian
    r"glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}|glc_[A-Za-z0-9+/=]{32,}|NRAK-[A-Z0-9]{27}|"  # Grafana, New Relic
    r"lin_api_[A-Za-z0-9]{40}|sntry[su]_[A-Za-z0-9+/=_]{40,}|figd_[A-Za-z0-9_-]{20,}|"  # Linear, Sentry
    r"dp\.(?:st|pt|ct|sa|scim|audit)\.[A-Za-z0-9_.-]{20,}|pul-[a-f0-9]{40}|"  # Doppler, Pulumi
    r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}|AGE-SECRET-KEY-1[0-9A-Z]{50,}|"  # Square, age
    r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}|[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}"  # Telegram, Azure AD
    r")"
)
# key=value, key: value, "key": "value", --key=value, KEY='value' where the key names a secret. The
# alternation only pre-selects candidates; ``is_secret_name`` decides. Bounded runs keep it linear.
_KEY_VALUE = re.compile(
    r"(?<![\w.-])(?P<key>[\w.-]{0,80}?(?:pass|pw|secret|token|key|cred|auth|sig|dsn|cookie|session)[\w.-]{0,80})"
    r"(?P<sep>[\"']?(?:[ \t]*=[ \t]*|:[ \t]*))"
    r"(?:(?P<quote>[\"'])(?P<quoted>[^\"'\n]*)(?P=quote)"
    # A bare value ends at a separator; "&" ends it only before the next query parameter (&state=...).
    r"|(?P<value>[^\s\"',;&})\]<>\[{=](?:[^\s\"',;&})\]<>]|&(?![\w.-]+=))*))",
    re.IGNORECASE,
)
# --password hunter2, "--token", "abc" (an argument list as text): the flag names a secret.
_FLAG_VALUE = re.compile(
    r"(?<![\w-])(?P<flag>--[A-Za-z][\w-]{0,60})(?P<gap>[\"']?(?:,[ \t]*|[ \t]+)[\"']?)"
    r"(?P<value>[^\s\"',;\-][^\s\"',;]*)"
)
# PGPASSWORD hunter2: an upper-case secret env name, a space, then its value.
_ENV_SPACE_VALUE = re.compile(
    r"(?<![\w-])(?P<key>(?=[A-Z0-9_]*(?:PASS|PW|SECRET|TOKEN|KEY|CRED|AUTH|SIG|DSN))[A-Z][A-Z0-9_]{1,80})"
    r"(?P<gap>[ \t]+)(?P<value>[^\s\"',;]+)"
)
# Words that follow a secret's name in messages about it ("DB_PASSWORD is not set"), not its value.
_NOT_VALUES = frozenset(
    {
        "->",
        ":",
        "=",
        "=>",
        "a",
        "absent",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "by",
        "can",
        "cannot",
        "changed",
        "configured",
        "could",
        "defined",
        "empty",
        "env",
        "environment",
        "error",
        "exists",
        "expired",
        "failed",
        "for",
        "found",
        "from",
        "given",
        "had",
        "has",
        "have",
        "if",
        "in",
        "invalid",
        "is",
        "it",
        "may",
        "missing",
        "must",
        "needed",
        "no",
        "not",
        "of",
        "ok",
        "on",
        "or",
        "present",
        "provided",
        "required",
        "rotated",
        "set",
        "should",
        "that",
        "the",
        "this",
        "to",
        "too",
        "unset",
        "value",
        "values",
        "var",
        "variable",
        "variables",
        "was",
        "were",
        "when",
        "will",
        "with",
        "would",
    }
)
_MYSQL_ATTACHED = re.compile(
    r"(?P<head>\bmysql(?:dump|admin|import|check|sh)?\b[^\n]{0,200}?[ \t]-p)(?P<value>[^\s'\"\-][^\s'\"]*)"
)
_QUOTED_SHORT_FLAG = re.compile(r"(?P<head>(?<![\w-])-p)(?P<quote>['\"])(?P<value>[^'\"\n]+)(?P=quote)")
# Long base64-looking runs (Secret data, keys pasted into logs); hex-only runs (digests) are left alone.
_BASE64ISH = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{40,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"[0-9a-fA-F]+")


def _key_value(match: re.Match[str]) -> str:
    key = match.group("key")
    quoted = match.group("quoted")
    value = quoted if quoted is not None else match.group("value")
    if not is_secret_name(key) or _harmless(value):
        return match.group(0)
    if quoted is None and (
        value.lower() in _AUTH_SCHEMES or (" " in match.group("sep") and value.lower() in _NOT_VALUES)
    ):
        return match.group(0)  # "Authorization: Bearer ..." (the token follows), "a secret: the ..." (prose)
    if key.upper() == "PWD" and value.startswith("/"):
        return match.group(0)  # the shell's working directory, not a password
    quote = match.group("quote") or ""
    return f"{key}{match.group('sep')}{quote}{REDACTED}{quote}"


def _name_value_text(match: re.Match[str]) -> str:
    if match.group("head") is not None:
        if not is_secret_name(match.group("name")) or _harmless(match.group("value")):
            return match.group(0)
        return f"{match.group('head')}{match.group('quote')}{REDACTED}{match.group('quote')}"
    if not is_secret_name(match.group("yname")) or _harmless(match.group("yvalue").strip("\"' ")):
        return match.group(0)
    return f"{match.group('yhead')}{REDACTED}"


def _flag_value(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("flag")) or _harmless(match.group("value")):
        return match.group(0)
    return f"{match.group('flag')}{match.group('gap')}{REDACTED}"


def _env_space_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if not is_secret_name(match.group("key")) or _harmless(value) or value.lower() in _NOT_VALUES:
        return match.group(0)
    return f"{match.group('key')}{match.group('gap')}{REDACTED}"


def _auth_header(match: re.Match[str]) -> str:
    if _harmless(match.group(3)) or (match.group(2) is None and match.group(3).lower() in _AUTH_SCHEMES):
        return match.group(0)  # a variable, or a scheme whose credential is already redacted
    scheme = f"{match.group(2)} " if match.group(2) else ""
    return f"{match.group(1)}{scheme}{REDACTED}"


def _bearer(match: re.Match[str]) -> str:
    token = match.group(2)
    if token.isalpha() and token.islower():
        return match.group(0)  # "basic authentication": a word, not a credential
    return f"{match.group(1)} {REDACTED}"


_MIN_ENTROPY_BITS = 4.2  # random base64 of 40+ characters has about 5; identifiers and paths about 3.5-4
_PATH_WORD = re.compile(r"[a-z]+|[A-Z][A-Z_]+|[0-9]+|v[0-9]+")


def _entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    counts = collections.Counter(text)
    return -sum(count / len(text) * math.log2(count / len(text)) for count in counts.values())


def _base64ish(match: re.Match[str]) -> str:
    run = match.group(0)
    body = run.rstrip("=")
    if _HEX.fullmatch(body):
        return run  # a digest or container id, not a secret
    # Random base64 of this length has all three; paths, names and words rarely do.
    mixed = all(re.search(pattern, body) for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    if not mixed or _entropy(body) < _MIN_ENTROPY_BITS:
        return run
    parts = [part for part in body.split("/") if part]
    if len(parts) > 2 and sum(1 for part in parts if _PATH_WORD.fullmatch(part)) * 2 >= len(parts):
        return run  # a URL path such as 8080/api/v1/approvals/PROPOSAL_ID/approve
    return REDACTED


# What every pattern above needs somewhere in the text (a marker, a secret-naming word, a flag, a long
# run), but the vendors' token formats: text with none of it can only hold one of those. One search
# instead of sixteen substitutions for the usual pod names and alert summaries.
_MAYBE_SECRET = re.compile(
    r"(?i:-----begin|://|hooks\.slack\.com|discord|webhook\.office\.com|authorization|cookie|name|"
    r"bearer|basic|pass|pw|secret|token|key|cred|auth|sig|dsn|session|mysql)"
    r"|eyJ|--|-p['\"]|" + _AWS_ACCESS_KEY.pattern + r"|[A-Za-z0-9+/_-]{40}"
)


def _redact_text(text: str) -> str:
    if not _MAYBE_SECRET.search(text):
        return _WELL_KNOWN_TOKENS.sub(REDACTED, text)
    return _redact_full(text)


def _redact_full(text: str) -> str:
    text = _PRIVATE_KEY_BLOCK.sub("[REDACTED PRIVATE KEY]\n", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", text)
    text = _WEBHOOK_URLS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _AUTH_HEADER.sub(_auth_header, text)
    text = _COOKIE_HEADER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _BEARER.sub(_bearer, text)
    text = _JWT.sub(REDACTED, text)
    text = _AWS_ACCESS_KEY.sub(REDACTED, text)
    text = _WELL_KNOWN_TOKENS.sub(REDACTED, text)
    text = _NAME_VALUE_TEXT.sub(_name_value_text, text)
    text = _KEY_VALUE.sub(_key_value, text)
    text = _FLAG_VALUE.sub(_flag_value, text)
    text = _ENV_SPACE_VALUE.sub(_env_space_value, text)
    text = _MYSQL_ATTACHED.sub(lambda m: f"{m.group('head')}{REDACTED}", text)
    text = _QUOTED_SHORT_FLAG.sub(
        lambda m: f"{m.group('head')}{m.group('quote')}{REDACTED}{m.group('quote')}", text
    )
    return _BASE64ISH.sub(_base64ish, text)


_redact_short = functools.lru_cache(maxsize=8192)(_redact_text)
_SHORT = 256  # label values and names repeat across alerts: these are worth caching


def redact(text: str) -> str:
    """``text`` with secret-looking values replaced by ``[REDACTED]``."""
    if not text:
        return text
    return _redact_short(text) if len(text) <= _SHORT else _redact_text(text)


def bounded(text: str, limit: int, name: str | None = None) -> str:
    """``text`` redacted, and cut to ``limit`` characters with a visible marker when it is longer.

    ``name`` is the key the text is kept under (a label name): a secret-like name hides it whole.
    """
    if name is not None and text and is_secret_name(name) and not _harmless(text):
        return REDACTED
    if len(text) <= limit:
        return redact(text)
    # Redact a little past the cut, so that a secret straddling it is still recognised whole.
    head = redact(text[: limit + 512])[:limit]
    return head + TRUNCATED.format(count=len(text) - limit)


# --- structures --------------------------------------------------------------------------------------
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_FLAG_ONLY = re.compile(r"--?[A-Za-z][\w-]*")


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


def _redact_json_text(text: str) -> str:
    """A JSON document kept as a string (last-applied-configuration): redacted as a structure."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact(text)
    return json.dumps(redact_value(parsed), separators=(",", ":"))


def _redact_mapping(value: Mapping[str, Any], env: bool) -> dict[str, Any]:
    name = value.get("name")
    # A name/value pair: an env var (every value hidden), a header or a parameter (hidden when the
    # name is secret-like). ``valueFrom`` only points at a Secret or ConfigMap and is kept.
    hide_value = isinstance(name, str) and "value" in value and (env or is_secret_name(name))
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, str) and item and not item.startswith("[REDACTED"):
            if (key == "value" and hide_value) or (
                isinstance(key, str) and is_secret_name(key) and not _harmless(item)
            ):
                out[key] = REDACTED
                continue
            if env and key != "name":  # {NAME: value} maps under an ``env`` key
                out[key] = REDACTED
                continue
            if key == _LAST_APPLIED:
                out[key] = _redact_json_text(item)
                continue
        out[key] = _redact_child(item, key)
    return out


def _redact_sequence(items: list[Any] | tuple[Any, ...], env: bool) -> list[Any]:
    out: list[Any] = []
    previous: Any = None
    for item in items:
        secret_flag = (
            isinstance(previous, str) and _FLAG_ONLY.fullmatch(previous) and is_secret_name(previous)
        )
        if secret_flag and isinstance(item, str) and item and not item.startswith(("-", "[REDACTED")):
            out.append(REDACTED)  # ["--password", "hunter2"]
        elif env and isinstance(item, Mapping):
            out.append(_redact_mapping(item, env=True))
        else:
            out.append(redact_value(item))
        previous = item
    return out


def _redact_child(item: Any, key: Any) -> Any:
    if key == "env" and isinstance(item, list | tuple):
        return _redact_sequence(item, env=True)
    if key == "env" and isinstance(item, Mapping):
        return _redact_mapping(item, env=True)
    return redact_value(item)


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like structure with secrets redacted; strings go through ``redact``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        if value.get("kind") == "Secret":
            return _redact_secret_object(value)
        return _redact_mapping(value, env=False)
    if isinstance(value, list | tuple):
        return _redact_sequence(value, env=False)
    return value


def contains_redaction(value: Any) -> bool:
    """True when anything in ``value`` was redacted (it cannot be used as it is)."""
    if isinstance(value, str):
        return "[REDACTED" in value
    if isinstance(value, Mapping):
        return any(contains_redaction(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(contains_redaction(item) for item in value)
    return False
