"""Bearer/Basic token authentication with roles: webhook, viewer, approver.

Tokens are kept as SHA-256 digests and compared with ``hmac.compare_digest`` against every entry, so
timing tells nothing about which token, or how much of one, matched. Identity comes from the token,
never from the request body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from workers.errors import SettingsError

Role = Literal["webhook", "viewer", "approver"]
ROLES: tuple[str, ...] = ("webhook", "viewer", "approver")
# What each role may do; "read" covers approvals, records and reports.
PERMISSIONS: dict[str, frozenset[str]] = {
    "webhook": frozenset({"ingest"}),
    "viewer": frozenset({"read"}),
    "approver": frozenset({"read", "decide"}),
}


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


@dataclass(frozen=True)
class _Entry:
    name: str
    role: str
    digest: bytes


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenBook:
    """The known tokens; ``identify`` maps an Authorization header to an Identity or None."""

    def __init__(self, entries: list[dict[str, str]]) -> None:
        self._entries: list[_Entry] = []
        for index, item in enumerate(entries):
            where = f"tokens[{index}]"
            if not isinstance(item, dict):
                raise SettingsError(f"{where}: must be a mapping with name, role and token or sha256")
            name, role = item.get("name"), item.get("role")
            if not name or not isinstance(name, str):
                raise SettingsError(f"{where}.name: required")
            if role not in ROLES:
                raise SettingsError(f"{where}.role: must be one of {', '.join(ROLES)}, not {role!r}")
            if item.get("token"):
                token = str(item["token"])
                if len(token) < 16:
                    raise SettingsError(f"{where}.token: at least 16 characters")
                digest = _digest(token)
            elif item.get("sha256"):
                try:
                    digest = bytes.fromhex(str(item["sha256"]))
                except ValueError as exc:
                    raise SettingsError(f"{where}.sha256: not hex") from exc
                if len(digest) != 32:
                    raise SettingsError(f"{where}.sha256: must be 64 hex characters")
            else:
                raise SettingsError(f"{where}: needs token or sha256")
            self._entries.append(_Entry(name, str(role), digest))

    @classmethod
    def from_file(cls, path: Path | None) -> TokenBook:
        if path is None:
            return cls([])
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        except OSError as exc:
            raise SettingsError(
                f"auth.tokens_file (env AIOPS_TOKENS_FILE): cannot read {path}: {exc.strerror}"
            ) from exc
        except yaml.YAMLError as exc:
            raise SettingsError(f"auth.tokens_file: {path} is not valid YAML: {exc}") from exc
        if isinstance(data, dict) and "tokens" in data:
            data = data["tokens"]
        if not isinstance(data, list):
            raise SettingsError(f"auth.tokens_file: {path} must hold a list of tokens")
        return cls(data)

    def has_role(self, role: str) -> bool:
        return any(entry.role == role for entry in self._entries)

    def identify(self, header: str | None) -> Identity | None:
        token = token_from_header(header)
        if token is None:
            return None
        return self.identify_digest(_digest(token))

    def identify_digest(self, offered: bytes) -> Identity | None:
        """The identity whose token has the SHA-256 ``offered`` (a web session keeps only that digest)."""
        found: _Entry | None = None
        for entry in self._entries:  # no early exit: every entry is compared
            if hmac.compare_digest(entry.digest, offered) and found is None:
                found = entry
        return Identity(found.name, found.role) if found else None


def digest(token: str) -> bytes:
    """The SHA-256 of a token, as the token store keeps it."""
    return _digest(token)


def token_from_header(header: str | None) -> str | None:
    """The secret from ``Bearer <token>`` or from the password of ``Basic <b64(user:password)>``."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        _, sep, password = decoded.partition(":")
        return password if sep and password else None
    return None
