"""The OAuth2 settings: which provider issues mailbot's access token, and how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mailbot.config.base import Strict, one_of, read_secret


class OAuth2Config(Strict):
    """How mailbot gets the access token it signs in with when ``auth = "oauth2"``."""

    # microsoft: app-only client credentials (MSAL); google: a service account
    # with domain-wide delegation, or a stored refresh token (google-auth);
    # command: an external program that prints a token.
    provider: Literal["microsoft", "google", "command"]
    # Which SASL mechanism to use; "auto" takes OAUTHBEARER where the server
    # offers it and XOAUTH2 otherwise.
    mechanism: Literal["auto", "xoauth2", "oauthbearer"] = "auto"
    # The scope asked for; empty means the provider's mail scope.
    scope: str = ""
    tenant: str = ""
    client_id: str = ""
    client_secret: str | None = None
    client_secret_file: Path | None = None
    client_secret_env: str | None = None
    # Microsoft: a certificate credential instead of a secret: the private key
    # (PEM) and the certificate's SHA-1 thumbprint as shown in Entra ID.
    certificate_key_file: Path | None = None
    certificate_thumbprint: str = ""
    # Microsoft: the authority, for a national cloud or a test endpoint;
    # empty means https://login.microsoftonline.com/<tenant>.
    authority: str = ""
    # Google: the service account's JSON key file...
    service_account_file: Path | None = None
    # ...or a refresh token issued to client_id (with client_secret).
    refresh_token: str | None = None
    refresh_token_file: Path | None = None
    refresh_token_env: str | None = None
    # Google: the token endpoint; empty means the service account's own or Google's.
    token_uri: str = ""
    # command: the program and its arguments; it prints a token, or a JSON
    # object with access_token and expires_in.
    command: tuple[str, ...] = ()
    # How long a plain token printed by the command is used for.
    command_token_seconds: float = Field(default=300.0, gt=0)
    # A CA to trust for the token endpoint besides the system's.
    ca_file: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> OAuth2Config:
        secrets = one_of(self, "client_secret", "client_secret_file", "client_secret_env")
        refresh = one_of(self, "refresh_token", "refresh_token_file", "refresh_token_env")
        if self.provider == "microsoft":
            if not (self.tenant or self.authority) or not self.client_id:
                raise ValueError("provider microsoft needs tenant and client_id")
            certificate = self.certificate_key_file is not None
            if certificate != bool(self.certificate_thumbprint):
                raise ValueError("certificate_key_file and certificate_thumbprint go together")
            if bool(secrets) == certificate:
                raise ValueError("provider microsoft needs a client secret or a certificate")
        elif self.provider == "google":
            if (self.service_account_file is None) == (not refresh):
                raise ValueError("provider google needs service_account_file or a refresh token")
            if refresh and not (self.client_id and secrets):
                raise ValueError("a google refresh token needs client_id and the client secret")
        elif not self.command:
            raise ValueError("provider command needs command = [program, args...]")
        return self

    def client_secret_value(self) -> str:
        """The client secret, from the configuration, its file or its environment variable."""
        return read_secret(
            "client_secret", self.client_secret, self.client_secret_file, self.client_secret_env
        )

    def refresh_token_value(self) -> str:
        """The stored refresh token, from wherever the configuration names."""
        return read_secret(
            "refresh_token", self.refresh_token, self.refresh_token_file, self.refresh_token_env
        )

    def file_text(self, key: str) -> str:
        """The text of the file named by ``key`` (a key file or service account)."""
        path = getattr(self, key)
        return read_secret(key.removesuffix("_file"), None, path, None) if path else ""


# The OAuth2 keys that name files; like password_file they are read beside
# the configuration file when relative.
_OAUTH2_FILE_KEYS = (
    "client_secret_file",
    "certificate_key_file",
    "service_account_file",
    "refresh_token_file",
)


def oauth2_beside(oauth2: OAuth2Config, base: Path) -> OAuth2Config:
    """``oauth2`` with its relative file keys (and ca_file) taken relative to ``base``."""
    paths: dict[str, object] = {}
    for key in _OAUTH2_FILE_KEYS:
        path = getattr(oauth2, key)
        if path is not None and not path.is_absolute():
            paths[key] = base / path
    if oauth2.ca_file and not Path(oauth2.ca_file).is_absolute():
        paths["ca_file"] = str(base / oauth2.ca_file)
    return oauth2.model_copy(update=paths) if paths else oauth2
