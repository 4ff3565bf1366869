"""How clients reach a running sandbox: kubeconfig files, API clients, and the optional TLS certificate.

A kubeconfig holds two users and two contexts, ``sandbox`` (admin token) and ``sandbox-readonly``
(read-only token); the current context is the one for the token asked for. AI advisers get the
read-only context. kubectl and other client-go tools never send a bearer token over plain HTTP
(kubernetes/kubectl#744), so tools that shell out to kubectl need the sandbox started with
``tls=True``: a throw-away self-signed certificate for 127.0.0.1, made with the ``openssl`` CLI,
that the kubeconfig carries as ``certificate-authority-data``.
"""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from sandbox.api import ADMIN_TOKEN, READONLY_TOKEN
from sandbox.errors import SandboxError

_CONTEXTS = {ADMIN_TOKEN: "sandbox", READONLY_TOKEN: "sandbox-readonly"}


def kubeconfig(url: str, token: str = ADMIN_TOKEN, ca_file: Path | None = None) -> dict[str, Any]:
    """A kubeconfig document for the sandbox at ``url`` whose current context uses ``token``."""
    tokens = {**_CONTEXTS}
    if token not in tokens:
        tokens[token] = "sandbox-custom"
    cluster: dict[str, Any] = {"server": url}
    if ca_file is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_file.read_bytes()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "sandbox", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": tok}} for tok, user in tokens.items()],
        "contexts": [
            {"name": name, "context": {"cluster": "sandbox", "user": name, "namespace": "default"}}
            for name in tokens.values()
        ],
        "current-context": tokens[token],
    }


def write(path: str | Path, url: str, token: str = ADMIN_TOKEN, ca_file: Path | None = None) -> Path:
    """Write :func:`kubeconfig` to ``path`` (mode 0600, as kubectl does); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(url, token, ca_file), sort_keys=False))
    path.chmod(0o600)
    return path


def api_client(url: str, token: str = ADMIN_TOKEN, ca_file: Path | None = None) -> client.ApiClient:
    """An official-client ``ApiClient`` for the sandbox, authenticated with ``token``."""
    configuration = client.Configuration(host=url)
    if ca_file is not None:
        configuration.ssl_ca_cert = str(ca_file)
    configuration.api_key = {"BearerToken": token}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(configuration)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` (P-256, valid 7 days, SAN 127.0.0.1) into ``directory``."""
    binary = shutil.which("openssl")
    if binary is None:
        raise SandboxError("the sandbox needs the openssl command for TLS (apt-get install -y openssl)")
    cert, key = directory / "cert.pem", directory / "key.pem"
    result = subprocess.run(
        [binary, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "7", "-subj", "/CN=aiops-sandbox", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if result.returncode != 0:
        raise SandboxError(f"openssl could not make the sandbox certificate: {result.stderr.strip()}")
    key.chmod(0o600)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context for the sandbox's certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
