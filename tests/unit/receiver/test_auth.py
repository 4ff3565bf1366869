"""Token authentication: roles, constant-time lookup, Bearer and Basic, and refusal of bad token files."""

from __future__ import annotations

import base64
import hashlib

import pytest

from receiver.auth import TokenBook, token_from_header
from workers.errors import SettingsError

APPROVER = "approver-token-0123456789"
VIEWER = "viewer-token-0123456789ab"


def book() -> TokenBook:
    return TokenBook(
        [
            {"name": "alice", "role": "approver", "token": APPROVER},
            {"name": "bob", "role": "viewer", "sha256": hashlib.sha256(VIEWER.encode()).hexdigest()},
            {"name": "am", "role": "webhook", "token": "webhook-token-0123456789"},
        ]
    )


def test_bearer_identifies_name_and_role() -> None:
    identity = book().identify(f"Bearer {APPROVER}")
    assert identity is not None and (identity.name, identity.role) == ("alice", "approver")
    assert identity.may("decide") and identity.may("read") and not identity.may("ingest")


def test_sha256_entries_match_the_plain_token() -> None:
    identity = book().identify(f"Bearer {VIEWER}")
    assert identity is not None and identity.name == "bob" and not identity.may("decide")


def test_basic_auth_uses_the_password() -> None:
    header = "Basic " + base64.b64encode(f"alertmanager:{'webhook-token-0123456789'}".encode()).decode()
    identity = book().identify(header)
    assert identity is not None and identity.role == "webhook" and identity.may("ingest")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token-xxxxxxxxx",
        f"Token {APPROVER}",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"nopassword").decode(),
        f"Bearer {APPROVER}x",
        f"Bearer {APPROVER[:-1]}",
    ],
)
def test_unknown_or_malformed_headers_identify_nobody(header: str | None) -> None:
    assert book().identify(header) is None


def test_token_from_header_trims_whitespace() -> None:
    assert token_from_header(f"  Bearer   {APPROVER}  ") == APPROVER


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "x", "role": "admin", "token": "a" * 20}], "role"),
        ([{"name": "x", "role": "viewer", "token": "short"}], "16 characters"),
        ([{"name": "x", "role": "viewer"}], "needs token or sha256"),
        ([{"name": "x", "role": "viewer", "sha256": "zz"}], "not hex"),
        ([{"name": "x", "role": "viewer", "sha256": "ab" * 10}], "64 hex"),
        ([{"role": "viewer", "token": "a" * 20}], "name"),
        (["just-a-string"], "mapping"),
    ],
)
def test_bad_entries_are_refused_with_the_field_named(entries: list, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        TokenBook(entries)


def test_token_file_must_be_a_list(tmp_path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text("name: x\n")
    with pytest.raises(SettingsError, match="list of tokens"):
        TokenBook.from_file(path)
    path.write_text("tokens:\n  - {name: a, role: approver, token: aaaaaaaaaaaaaaaaaaaa}\n")
    assert TokenBook.from_file(path).has_role("approver")
