"""A local OAuth2 token endpoint for the tests: Microsoft identity platform v2.0 and Google.

It speaks the client-credentials grant (with OpenID discovery, as MSAL asks
for it), Google's JWT bearer grant for service accounts and the refresh-token
grant, over HTTPS with a throwaway CA. Access tokens are short-lived ES256
JWTs whose ``email`` claim is the mailbox, which Dovecot's oauth2 passdb
validates locally with the public key and the SMTP sink checks the same way.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from certs import make_certificate
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from servers import HOST, free_port

KEY_ID = "mailbot-test"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class _Grants:
    """Who may have tokens, and for which mailbox; guarded by ``lock``."""

    microsoft: dict[str, tuple[str, str]] = field(default_factory=dict)  # client id: secret, box
    # client id: (public key, SHA-1 thumbprint in hex, mailbox)
    certificates: dict[str, tuple[Any, str, str]] = field(default_factory=dict)
    service_accounts: dict[str, Any] = field(default_factory=dict)  # client email: public key
    refresh_tokens: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    issued: list[str] = field(default_factory=list)  # the mailbox of every token issued
    lock: threading.Lock = field(default_factory=threading.Lock)


class TokenServer:
    """The endpoint on a loopback port; ``lifetime`` is each token's life in seconds."""

    def __init__(self, lifetime: float = 3600) -> None:
        self.lifetime = lifetime
        self._workdir = tempfile.TemporaryDirectory(prefix="mailbot-tokens-")
        self.directory = Path(self._workdir.name)
        certificate = make_certificate(self.directory)
        self.ca_file = certificate.ca_file
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.public_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.grants = _Grants()
        self.port = free_port()
        self.base = f"https://localhost:{self.port}"
        handler = type("Handler", (_Handler,), {"endpoint": self})
        self._httpd = ThreadingHTTPServer((HOST, self.port), handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._workdir.cleanup()

    # --- what the tests set up ---------------------------------------------------

    def authority(self, tenant: str) -> str:
        """The Microsoft authority URL for ``tenant`` on this endpoint."""
        return f"{self.base}/{tenant}"

    @property
    def google_token_uri(self) -> str:
        return f"{self.base}/google/token"

    def add_microsoft_app(self, client_id: str, secret: str, mailbox: str) -> None:
        """An app registration with a secret, given full access to ``mailbox``."""
        with self.grants.lock:
            self.grants.microsoft[client_id] = (secret, mailbox)

    def add_microsoft_certificate_app(self, client_id: str, mailbox: str) -> tuple[str, str]:
        """An app registration with a certificate; returns its private key (PEM) and thumbprint."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        thumbprint = secrets.token_hex(20).upper()
        with self.grants.lock:
            self.grants.certificates[client_id] = (key.public_key(), thumbprint, mailbox)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return pem, thumbprint

    def add_service_account(self, client_email: str) -> str:
        """A Google service account with domain-wide delegation; returns its JSON key file."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self.grants.lock:
            self.grants.service_accounts[client_email] = key.public_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "client_email": client_email,
                "private_key_id": "key1",
                "private_key": pem,
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )

    def add_refresh_token(self, token: str, client_id: str, secret: str, mailbox: str) -> None:
        """A refresh token a user granted to ``client_id`` for ``mailbox``."""
        with self.grants.lock:
            self.grants.refresh_tokens[token] = (client_id, secret, mailbox)

    def revoke(self, who: str) -> None:
        """Refuse every later request from this client id, service account or refresh token."""
        with self.grants.lock:
            self.grants.revoked.add(who)

    def restore(self, who: str) -> None:
        """Undo ``revoke``, as an administrator's new secret or consent would."""
        with self.grants.lock:
            self.grants.revoked.discard(who)

    @property
    def issued(self) -> list[str]:
        with self.grants.lock:
            return list(self.grants.issued)

    def valid(self, token: str, mailbox: str) -> bool:
        """Whether ``token`` is ours, unexpired, for ``mailbox`` (the SMTP sink's check)."""
        try:
            claims = jwt.decode(token, self._key.public_key(), algorithms=["ES256"])
        except jwt.PyJWTError:
            return False
        return bool(claims.get("email") == mailbox)

    def write_dovecot_keys(self, directory: Path) -> None:
        """The public key where Dovecot's local validation looks for it (azp/alg/kid)."""
        path = directory / "default" / "ES256" / KEY_ID
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.public_pem)

    # --- issuing -------------------------------------------------------------------

    def _issue(self, mailbox: str) -> dict[str, Any]:
        # Dovecot refuses a token issued "in the future"; a second's slack
        # covers the clocks of two processes reading time separately.
        now = int(time.time()) - 1
        claims = {"email": mailbox, "sub": mailbox, "iat": now, "nbf": now}
        claims["exp"] = now + 1 + int(self.lifetime)
        token = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": KEY_ID})
        with self.grants.lock:
            self.grants.issued.append(mailbox)
        return {"token_type": "Bearer", "expires_in": int(self.lifetime), "access_token": token}

    def token_response(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one token request: (HTTP status, JSON body)."""
        grant = form.get("grant_type", "")
        if path.endswith("/oauth2/v2.0/token") and grant == "client_credentials":
            return self._client_credentials(path, form)
        if path == "/google/token" and grant == JWT_BEARER:
            return self._jwt_bearer(form.get("assertion", ""))
        if path == "/google/token" and grant == "refresh_token":
            return self._refresh(form)
        return 400, {"error": "unsupported_grant_type"}

    def _certificate_holder(self, path: str, form: dict[str, str]) -> str | None:
        """The mailbox of the app whose certificate signed the client assertion, if one did."""
        client = form.get("client_id", "")
        with self.grants.lock:
            known = self.grants.certificates.get(client)
        if known is None or client in self.grants.revoked:
            return None
        public_key, thumbprint, mailbox = known
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion, public_key, algorithms=["RS256", "PS256"], audience=self.base + path
            )
        except jwt.PyJWTError:
            return None
        x5t = base64.urlsafe_b64encode(bytes.fromhex(thumbprint)).decode().rstrip("=")
        # x5t is base64url of the SHA-1 thumbprint; MSAL keeps the padding.
        signer = str(header.get("x5t", "")).rstrip("=")
        if signer != x5t or claims.get("iss") != client or claims.get("sub") != client:
            return None
        return mailbox

    def _client_credentials(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client = form.get("client_id", "")
        if "client_assertion" in form:
            mailbox = self._certificate_holder(path, form)
            if mailbox is None:
                return 401, {
                    "error": "invalid_client",
                    "error_description": "AADSTS700027: assertion failed signature validation.",
                }
            return 200, self._issue(mailbox)
        with self.grants.lock:
            known, revoked = self.grants.microsoft.get(client), client in self.grants.revoked
        if known is None or known[0] != form.get("client_secret") or revoked:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        if form.get("scope") != "https://outlook.office365.com/.default":
            return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: bad scope"}
        return 200, self._issue(known[1])

    def _jwt_bearer(self, assertion: str) -> tuple[int, dict[str, Any]]:
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            with self.grants.lock:
                key = self.grants.service_accounts[issuer]
                revoked = issuer in self.grants.revoked
            # Google wants its own token endpoint as the audience, whatever
            # URI the assertion is posted to, and google-auth writes it so.
            claims = jwt.decode(
                assertion, key, algorithms=["RS256"], audience="https://oauth2.googleapis.com/token"
            )
        except (jwt.PyJWTError, KeyError) as exc:
            return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
        if revoked:
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account"}
        if claims.get("scope") != "https://mail.google.com/" or "sub" not in claims:
            return 400, {"error": "unauthorized_client", "error_description": "no delegation"}
        return 200, self._issue(str(claims["sub"]))

    def _refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        token = form.get("refresh_token", "")
        with self.grants.lock:
            known = self.grants.refresh_tokens.get(token)
            revoked = token in self.grants.revoked
        wanted = (form.get("client_id"), form.get("client_secret"))
        if known is None or revoked or known[:2] != wanted:
            return 400, {"error": "invalid_grant", "error_description": "Token has been revoked."}
        return 200, self._issue(known[2])


class _Handler(BaseHTTPRequestHandler):
    endpoint: TokenServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        # MSAL's OpenID discovery: /<tenant>/v2.0/.well-known/openid-configuration
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            root = f"{self.endpoint.base}/{parts[0]}"
            self._reply(
                200,
                {
                    "issuer": f"{root}/v2.0",
                    "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{root}/oauth2/v2.0/token",
                },
            )
            return
        self._reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        form = {k: v[0] for k, v in parse_qs(body).items()}
        status, reply = self.endpoint.token_response(self.path.split("?")[0], form)
        self._reply(status, reply)
