"""What a view sees of the app it runs in: the context, the tokens and the caller's identity.

The factory in ``receiver.app`` installs them; the blueprints read them here, so that app.py imports
the blueprints and nothing imports app.py back.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request

from receiver.auth import Identity, TokenBook
from receiver.errors import Forbidden, Unauthorized
from workers.spine.context import Context

CONTEXT_KEY = "aiops"
TOKENS_KEY = "aiops.tokens"


def install(app: Flask, context: Context, tokens: TokenBook) -> None:
    app.extensions[CONTEXT_KEY] = context
    app.extensions[TOKENS_KEY] = tokens


def context() -> Context:
    ctx: Context = current_app.extensions[CONTEXT_KEY]
    return ctx


def tokens() -> TokenBook:
    book: TokenBook = current_app.extensions[TOKENS_KEY]
    return book


def caller() -> Identity | None:
    """The identity behind the request's Authorization header, or None; grants nothing by itself."""
    return tokens().identify(request.headers.get("Authorization"))


def require(permission: str) -> Identity:
    """The caller's identity, if its token grants ``permission``; else 401 or 403."""
    identity = caller()
    if identity is None:
        raise Unauthorized("a valid token is required (Authorization: Bearer <token>)")
    if not identity.may(permission):
        raise Forbidden(f"role {identity.role} may not {permission}")
    g.identity = identity
    return identity
