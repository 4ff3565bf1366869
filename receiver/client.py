"""The HTTP client of the CLI verbs that read or decide (``aiops approvals``, ``aiops records``).

They call the receiver's API with a token instead of writing to Redis, so every decision is made by an
authenticated identity (the token's name) and the CLI needs no Redis access at all.
"""

from __future__ import annotations

from typing import Any

import httpx

from receiver.errors import ClientError
from workers.errors import SettingsError
from workers.settings import Settings

# Listening on every interface: the CLI calls the loopback one.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


def base_url(settings: Settings) -> str:
    """``cli.url``, else the receiver these settings describe on this machine."""
    if settings.cli.url:
        return settings.cli.url
    host = settings.server.host
    host = "127.0.0.1" if host in _WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def token(settings: Settings) -> str:
    """The CLI's API token from ``cli.token_file`` or ``cli.token``; ``SettingsError`` naming both if none."""
    cli = settings.cli
    if cli.token_file is not None:
        try:
            value = cli.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"cli.token_file (env AIOPS_CLI_TOKEN_FILE): cannot read {cli.token_file}: {exc.strerror}"
            ) from exc
        if not value:
            raise SettingsError(f"cli.token_file (env AIOPS_CLI_TOKEN_FILE): {cli.token_file} is empty")
        return value
    if cli.token is not None and cli.token.get_secret_value().strip():
        return cli.token.get_secret_value().strip()
    raise SettingsError(
        "no API token for the CLI: set cli.token_file (env AIOPS_CLI_TOKEN_FILE) to a file holding a token "
        "from the receiver's tokens file, or cli.token (env AIOPS_CLI_TOKEN); reading needs a viewer token, "
        "approving and rejecting an approver token"
    )


_STATUS_EXIT = {401: 4, 403: 5, 404: 6, 409: 7}
_STATUS_HINT = {
    401: "the receiver did not accept the token (cli.token_file / cli.token)",
    403: "the token's role may not do this",
    404: "not found",
    409: "conflict",
}


class ApiClient:
    """Calls the receiver's v1 API; each failure becomes a ``ClientError`` with a message and an exit code."""

    def __init__(self, url: str, api_token: str, timeout_s: float = 15.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_token}", "Accept": "application/json"},
            timeout=timeout_s,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiClient:
        return cls(base_url(settings), token(settings))

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def get_text(self, path: str, params: dict[str, Any] | None = None) -> str:
        return str(self._call("GET", path, params=params, text=True))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body)

    def _call(self, method: str, path: str, text: bool = False, **kwargs: Any) -> Any:
        params = kwargs.get("params")
        if params is not None:
            kwargs["params"] = {key: value for key, value in params.items() if value is not None}
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError(
                f"cannot reach the receiver at {self.url} (cli.url, env AIOPS_CLI_URL): {exc}", 3
            ) from exc
        if response.is_success:
            if text:
                return response.text
            try:
                return response.json()
            except ValueError as exc:
                raise ClientError(
                    f"the receiver at {self.url} answered {method} {path} with no JSON", 1
                ) from exc
        raise _error(response)


def _error(response: httpx.Response) -> ClientError:
    try:
        body = response.json()
        detail = str(body.get("detail") or body.get("error") or "")
    except (ValueError, AttributeError):
        detail = response.text[:200]
    status = response.status_code
    hint = _STATUS_HINT.get(status, f"HTTP {status}")
    return ClientError(f"{hint}: {detail}" if detail else hint, _STATUS_EXIT.get(status, 1))
