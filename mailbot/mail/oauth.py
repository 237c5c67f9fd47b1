"""OAuth2 access tokens for signing in to IMAP and SMTP (MSAL, google-auth or a command)."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mailbot.config import ServerConfig
from mailbot.errors import GrantError, TransientError

if TYPE_CHECKING:
    # msal, google-auth and requests take a quarter of a second to import and
    # only an account signing in with OAuth2 needs them: each provider
    # imports its library when it is first made.
    import google.auth.exceptions
    import msal
    import requests

log = logging.getLogger(__name__)

Provider = Literal["microsoft", "google", "command"]
Mechanism = Literal["auto", "xoauth2", "oauthbearer"]

MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
_GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"

# Errors of RFC 6749 section 5.2 that mean the grant itself is refused:
# retrying the same request cannot help until someone changes the setup.
_REFUSALS = frozenset(
    {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope", "invalid_request"}
)


@dataclass(frozen=True)
class OAuthSettings:
    """Everything needed to obtain a token, secrets already read at start-up."""

    provider: Provider
    user: str  # the mailbox signed in to (the SASL user name)
    mechanism: Mechanism = "auto"
    scope: str = ""
    tenant: str = ""
    client_id: str = ""
    client_secret: str = ""
    certificate_key: str = ""
    certificate_thumbprint: str = ""
    authority: str = ""
    service_account: str = ""  # the JSON key file's text
    refresh_token: str = ""
    token_uri: str = ""
    command: tuple[str, ...] = ()
    command_token_seconds: float = 300.0
    ca_file: str | None = None
    timeout: float = 30.0


def oauth_settings(server: ServerConfig) -> OAuthSettings | None:
    """The token settings of an [imap] or [smtp] section, or None when it signs in by password."""
    o = server.oauth2
    if server.auth != "oauth2" or o is None:
        return None
    return OAuthSettings(
        provider=o.provider,
        user=server.username,
        mechanism=o.mechanism,
        scope=o.scope,
        tenant=o.tenant,
        client_id=o.client_id,
        client_secret=o.client_secret_value(),
        certificate_key=o.file_text("certificate_key_file"),
        certificate_thumbprint=o.certificate_thumbprint,
        authority=o.authority,
        service_account=o.file_text("service_account_file"),
        refresh_token=o.refresh_token_value(),
        token_uri=o.token_uri,
        command=o.command,
        command_token_seconds=o.command_token_seconds,
        ca_file=o.ca_file,
        timeout=server.timeout,
    )


def sasl_response(mechanism: Literal["xoauth2", "oauthbearer"], user: str, token: str) -> bytes:
    """The client's initial response for XOAUTH2 or OAUTHBEARER (RFC 7628), unencoded."""
    if mechanism == "xoauth2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    identity = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={identity},\x01auth=Bearer {token}\x01\x01".encode()


def sasl_base64(mechanism: Literal["xoauth2", "oauthbearer"], user: str, token: str) -> bytes:
    """The initial response base64-encoded, as SMTP's AUTH command carries it."""
    return base64.b64encode(sasl_response(mechanism, user, token))


@dataclass(frozen=True)
class _Token:
    value: str
    lifetime: float  # seconds the provider said the token is good for


class _Provider(Protocol):
    def fetch(self, fresh: bool) -> _Token: ...


def _refused(provider: str, error: str, detail: str) -> GrantError:
    reason = f"{error}: {detail}" if detail else error
    return GrantError(f"{provider} refused the OAuth2 grant: {reason}")


def _session(settings: OAuthSettings) -> requests.Session:
    """A requests session that always verifies with ``ca_file`` and has a timeout.

    requests lets REQUESTS_CA_BUNDLE override a session's own ``verify``;
    passing it with every request keeps the configured CA in force.
    """
    import requests

    ca_file, timeout = settings.ca_file, settings.timeout

    class _Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:
            if ca_file:
                kwargs["verify"] = ca_file
            kwargs.setdefault("timeout", timeout)
            return super().request(*args, **kwargs)

    return _Session()


class _Microsoft:
    """App-only client credentials through MSAL."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self._app: msal.ConfidentialClientApplication | None = None

    def _application(self) -> msal.ConfidentialClientApplication:
        import msal
        import requests

        if self._app is None:
            s = self.settings
            credential: str | dict[str, str] = s.client_secret
            if s.certificate_key:
                credential = {
                    "private_key": s.certificate_key,
                    "thumbprint": s.certificate_thumbprint,
                }
            authority = s.authority or f"https://login.microsoftonline.com/{s.tenant}"
            try:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id,
                    client_credential=credential,
                    authority=authority,
                    http_client=_session(s),
                    # An authority of our own (a national cloud, a test endpoint)
                    # is not in Microsoft's list of instances; trust the setting.
                    instance_discovery=False if s.authority else None,
                )
            except ValueError as exc:
                raise GrantError(f"microsoft authority {authority}: {exc}") from exc
            except requests.RequestException as exc:
                raise TransientError(f"microsoft authority {authority} unreachable: {exc}") from exc
        return self._app

    def fetch(self, fresh: bool) -> _Token:
        import requests

        app = self._application()
        if fresh:
            app.remove_tokens_for_client()
        try:
            result: dict[str, Any] = app.acquire_token_for_client(
                scopes=[self.settings.scope or MICROSOFT_SCOPE]
            )
        except requests.RequestException as exc:
            raise TransientError(f"microsoft token endpoint unreachable: {exc}") from exc
        if "access_token" not in result:
            error = str(result.get("error", "no access token"))
            detail = str(result.get("error_description", "")).splitlines()[0:1]
            if error in _REFUSALS:
                raise _refused("microsoft", error, "".join(detail))
            raise TransientError(f"microsoft token endpoint: {error}: {''.join(detail)}")
        return _Token(str(result["access_token"]), float(result.get("expires_in", 3600)))


class _Google:
    """A service account with domain-wide delegation, or a stored refresh token."""

    def __init__(self, settings: OAuthSettings) -> None:
        import google.auth.transport.requests

        self.settings = settings
        self._lifetime = 3600.0
        session = _session(settings)
        # google-auth gives the expiry as a wall-clock instant; the token
        # response's expires_in is the duration, read here as it passes by.
        session.hooks["response"].append(self._note_lifetime)
        self._request = google.auth.transport.requests.Request(session)

    def _note_lifetime(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        try:
            self._lifetime = float(response.json().get("expires_in", self._lifetime))
        except (ValueError, AttributeError):
            return

    def _credentials(self) -> Any:
        import google.oauth2.credentials
        import google.oauth2.service_account

        s = self.settings
        scopes = [s.scope or GOOGLE_SCOPE]
        if s.service_account:
            try:
                info = json.loads(s.service_account)
            except ValueError as exc:
                raise GrantError(f"google service account file is not JSON: {exc}") from exc
            if s.token_uri:
                info["token_uri"] = s.token_uri
            try:
                accounts = google.oauth2.service_account.Credentials
                return accounts.from_service_account_info(  # type: ignore[no-untyped-call]
                    info, scopes=scopes, subject=s.user
                )
            except (ValueError, KeyError) as exc:
                raise GrantError(f"google service account file: {exc}") from exc
        return google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
            None,
            refresh_token=s.refresh_token,
            token_uri=s.token_uri or _GOOGLE_TOKEN_URI,
            client_id=s.client_id,
            client_secret=s.client_secret,
            scopes=scopes,
        )

    def fetch(self, fresh: bool) -> _Token:
        import google.auth.exceptions

        credentials = self._credentials()
        try:
            credentials.refresh(self._request)
        except google.auth.exceptions.RefreshError as exc:
            error, detail = _google_error(exc)
            if error in _REFUSALS or not getattr(exc, "retryable", False):
                raise _refused("google", error, detail) from exc
            raise TransientError(f"google token endpoint: {error}: {detail}") from exc
        except google.auth.exceptions.TransportError as exc:
            raise TransientError(f"google token endpoint unreachable: {exc}") from exc
        return _Token(str(credentials.token), self._lifetime)


def _google_error(exc: google.auth.exceptions.RefreshError) -> tuple[str, str]:
    """The OAuth error code and description google-auth carries in a refusal."""
    for arg in exc.args:
        if isinstance(arg, dict):
            return str(arg.get("error", "refused")), str(arg.get("error_description", ""))
    return "refused", str(exc.args[0]) if exc.args else ""


class _Command:
    """An external program that prints a token (or JSON with access_token and expires_in)."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings

    def fetch(self, fresh: bool) -> _Token:
        s = self.settings
        try:
            done = subprocess.run(
                list(s.command), capture_output=True, timeout=s.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GrantError(f"token command {s.command[0]} did not run: {exc}") from exc
        if done.returncode != 0:
            why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise GrantError(f"token command {s.command[0]} failed ({done.returncode}): {why[0]}")
        out = done.stdout.decode(errors="replace").strip()
        if out.startswith("{"):
            try:
                data = json.loads(out)
                return _Token(str(data["access_token"]), float(data.get("expires_in", 300)))
            except (ValueError, KeyError, TypeError) as exc:
                raise GrantError(f"token command {s.command[0]} printed bad JSON") from exc
        if not out:
            raise GrantError(f"token command {s.command[0]} printed no token")
        return _Token(out.splitlines()[0], s.command_token_seconds)


class TokenSource:
    """One account's token, cached in memory, renewed before it expires or when refused.

    Safe to share between the IMAP worker thread and the SMTP sender. A
    refused grant is logged once (and once more when it is put right), and
    ``problem`` says what is wrong for ``mailbot status``.
    """

    def __init__(
        self, settings: OAuthSettings, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        kinds: dict[str, Callable[[OAuthSettings], _Provider]] = {
            "microsoft": _Microsoft,
            "google": _Google,
            "command": _Command,
        }
        self._provider = kinds[settings.provider](settings)
        # A token's lifetime is a network timer, like IDLE's, not business
        # time: a --now preview must not make a token look fresh or stale.
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self._refused = False
        self._renew_at = 0.0
        self._fetches = 0
        self.problem: str | None = None

    @property
    def fetches(self) -> int:
        """How many tokens were fetched from the provider so far."""
        return self._fetches

    def token(self) -> str:
        """A token good for a while yet; fetched when none is cached or it is near expiry."""
        with self._lock:
            if self._token is None or self._monotonic() >= self._renew_at:
                # Near expiry or refused by a server: the provider's own cache
                # (MSAL keeps one) must not hand the same token back.
                self._fetch(fresh=self._token is not None or self._refused)
            assert self._token is not None
            return self._token.value

    def refused(self) -> None:
        """The server refused the cached token: the next ``token()`` fetches a new one."""
        with self._lock:
            self._token, self._refused = None, True

    def _fetch(self, fresh: bool) -> None:
        started = self._monotonic()
        try:
            token = self._provider.fetch(fresh)
        except GrantError as exc:
            self._token = None
            if self.problem is None:
                log.error("mail sign-in for %s: %s", self.settings.user, exc)
            self.problem = str(exc)
            raise
        if self.problem is not None:
            log.warning("mail sign-in for %s: token issued again", self.settings.user)
        self.problem = None
        self._fetches += 1
        self._token, self._refused = token, False
        # Renew with a quarter of the lifetime left, and never later than
        # five minutes before expiry, so a slow login still has a valid token.
        margin = min(300.0, token.lifetime / 4)
        self._renew_at = started + token.lifetime - margin


class TokenSources:
    """The token sources of one process, one per distinct account, so IMAP and SMTP share."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._sources: dict[OAuthSettings, TokenSource] = {}

    def get(self, settings: OAuthSettings | None) -> TokenSource | None:
        """The source for ``settings`` (made on first use), or None for password sign-in."""
        if settings is None:
            return None
        with self._lock:
            if settings not in self._sources:
                self._sources[settings] = TokenSource(settings, self._monotonic)
            return self._sources[settings]

    def active(self) -> bool:
        """Whether any account signs in with a token."""
        with self._lock:
            return bool(self._sources)

    def problems(self) -> list[str]:
        """What is wrong with any account's grant right now."""
        with self._lock:
            sources = list(self._sources.values())
        return [f"{s.settings.user}: {s.problem}" for s in sources if s.problem]
