"""Web-page sessions: a token typed in once is exchanged for a session cookie; a CSRF token guards forms.

The session lives in Redis under the SHA-256 of its id (so a reader of Redis cannot replay a cookie), with
the SHA-256 of the token it was opened with, and it expires after ``auth.session_ttl_s``. Each request
asks the token store (``receiver.auth``) again who that token is: a token removed from the tokens file
ends its sessions, and a role changed there applies at once. The cookie is ``HttpOnly``,
``SameSite=Strict`` and, when the page is served over TLS (or ``notify.public_url`` is https),
``Secure``. Every POST of a page carries the session's CSRF token, compared in constant time; the
sign-in form, which has no session yet, carries one bound to a short-lived cookie of its own (double
submit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

import redis
from flask import Request
from werkzeug.wrappers import Response

from receiver import auth
from receiver.auth import Identity, TokenBook

COOKIE = "aiops_session"
SIGN_IN_COOKIE = "aiops_sign_in"
SIGN_IN_TTL_S = 600
"""How long a sign-in form stays usable."""
PREFIX = "aiops:ui:session:"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    """A signed-in browser: who, with which role, and the token its forms must carry."""

    name: str
    role: str
    csrf: str
    created_at: str

    @property
    def identity(self) -> Identity:
        return Identity(self.name, self.role)


def _key(session_id: str) -> str:
    return PREFIX + hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore:
    """Sessions in Redis, each expiring ``ttl_s`` after sign-in; identities from ``tokens``."""

    def __init__(self, connection: redis.Redis, tokens: TokenBook, ttl_s: int) -> None:
        self.redis = connection
        self.tokens = tokens
        self.ttl_s = ttl_s

    def sign_in(self, token: str, now: str) -> tuple[str, Session] | None:
        """A new session for ``token`` if the token store knows it with a role that may read; else None."""
        token = token.strip()
        offered = auth.digest(token) if token else None
        identity = self.tokens.identify_digest(offered) if offered else None
        if offered is None or identity is None or not identity.may("read"):
            return None
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        doc = {"token_sha256": offered.hex(), "csrf": csrf, "created_at": now}
        self.redis.set(_key(session_id), json.dumps(doc), ex=self.ttl_s)
        return session_id, Session(identity.name, identity.role, csrf, now)

    def get(self, session_id: str | None) -> Session | None:
        """The live session behind a cookie, with the identity its token has now; None when there is none."""
        if not session_id:
            return None
        raw = self.redis.get(_key(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        identity = self.tokens.identify_digest(bytes.fromhex(str(data.get("token_sha256", ""))))
        if identity is None or not identity.may("read"):
            return None
        return Session(identity.name, identity.role, str(data["csrf"]), str(data["created_at"]))

    def sign_out(self, session_id: str | None) -> None:
        if session_id:
            self.redis.delete(_key(session_id))


def same_token(offered: str | None, expected: str) -> bool:
    """Constant-time comparison of a form's CSRF token with the expected one."""
    return bool(offered) and hmac.compare_digest(str(offered).encode(), expected.encode())


def secure(request: Request, public_url: str | None) -> bool:
    """Whether cookies get ``Secure``: the page came over TLS, or it is published at an https URL."""
    return request.is_secure or bool(public_url and public_url.lower().startswith("https://"))


def set_cookie(response: Response, name: str, value: str, max_age: int, is_secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, secure=is_secure, samesite="Strict"
    )


def clear_cookie(response: Response, name: str, is_secure: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, secure=is_secure, samesite="Strict")


def new_form_token() -> str:
    """A fresh CSRF token for a form that has no session behind it (the sign-in form)."""
    return secrets.token_urlsafe(24)
