"""Send email through the configured SMTP relay with aiosmtplib, reusing one connection."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiosmtplib

from mailbot.errors import PermanentSendError, TransientError
from mailbot.mail.oauth import OAuthSettings, TokenSource, sasl_base64

# An address of dot-atoms at a domain of plain labels is already its own
# envelope form, so it goes on the MAIL and RCPT lines as it is.  aiosmtplib's
# sendmail runs every address through email.utils.parseaddr twice (to check it,
# then to quote it), which was a quarter of the CPU of sending a broadcast;
# anything else (a quoted local part, an address literal, non-ASCII) still
# goes through sendmail and its parsing.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect to the relay."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    security: str = "ssl"
    ca_file: str | None = None
    timeout: float = 30.0
    oauth: OAuthSettings | None = None  # sign in with a token instead of the password


class SmtpSender:
    """One reusable SMTP connection; reconnects when the server has dropped it."""

    def __init__(self, settings: SmtpSettings, tokens: TokenSource | None = None) -> None:
        self.settings = settings
        if tokens is None and settings.oauth is not None:
            tokens = TokenSource(settings.oauth)
        self._tokens = tokens
        self._client: aiosmtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(self.settings.ca_file)
        return context

    def _client_for(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == "ssl",
            start_tls=s.security == "starttls",
            tls_context=self._tls_context() if s.security != "none" else None,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        if s.oauth is not None and self._tokens is not None:
            # One fresh token after a refusal, on a new connection (some
            # servers hang up after a failed AUTH), then give up for now.
            try:
                return await self._connect_once(self._tokens)
            except _TokenRefused:
                self._tokens.refused()
            try:
                return await self._connect_once(self._tokens)
            except _TokenRefused as exc:
                self._tokens.refused()
                raise TransientError(
                    f"SMTP server {s.host} refused the OAuth2 token for {s.username}: {exc}"
                ) from exc
        return await self._connect_once(None)

    async def _connect_once(self, tokens: TokenSource | None) -> aiosmtplib.SMTP:
        s = self.settings
        client = self._client_for()
        try:
            await client.connect()
            if tokens is not None:
                token = await asyncio.to_thread(tokens.token)
                await _token_login(client, s.username, token, s.oauth)
            elif s.username:
                await client.login(s.username, s.password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            raise TransientError(f"SMTP login refused: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransientError(f"cannot connect to SMTP {s.host}:{s.port}: {exc}") from exc
        except TransientError:
            client.close()
            raise
        return client

    async def send(
        self,
        mail_from: str,
        recipients: Sequence[str],
        raw: bytes,
        before_data: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Send one message; raise TransientError or PermanentSendError on failure.

        ``before_data`` is awaited just before the message itself is handed
        over (DATA), after the envelope was accepted: the outbox takes its
        turn to have a message accepted there (see daemon/sender.py).
        """
        if self._client is None or not self._client.is_connected:
            self._client = await self._connect()
        # An internationalised address (RFC 6531) in the envelope needs the
        # relay's SMTPUTF8; aiosmtplib asks for it with this option.
        utf8 = not all(a.isascii() for a in (mail_from, *recipients))
        plain = _PLAIN_ADDRESS.fullmatch
        try:
            if plain(mail_from) and all(plain(a) for a in recipients):
                await _transaction(self._client, mail_from, recipients, raw, before_data)
            else:
                if before_data is not None:
                    await before_data()
                await self._client.sendmail(
                    mail_from, list(recipients), raw, mail_options=["SMTPUTF8"] if utf8 else None
                )
        except aiosmtplib.SMTPNotSupported as exc:
            # The relay's abilities do not change between tries, so this is
            # final: one clear reason in the log and in `mailbot status`.
            wide = ", ".join(a for a in (mail_from, *recipients) if not a.isascii())
            raise PermanentSendError(
                f"the relay {self.settings.host}:{self.settings.port} does not offer SMTPUTF8, "
                f"which the internationalised address(es) {wide} need: {exc}"
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(500 <= c < 600 for c in codes):
                raise PermanentSendError(f"all recipients refused: {exc}") from exc
            raise TransientError(f"recipients refused for now: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"{exc.code} {exc.message}") from exc
            raise TransientError(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise TransientError(f"SMTP failure: {exc}") from exc
        # A partial refusal still delivered to the others; the refusals are
        # not retried, because retrying would send the rest a second copy.

    async def check_login(self) -> bool:
        """Connect and sign in, then hang up: for ``mailbot check``; TransientError says why.

        Returns whether the relay offers SMTPUTF8 (RFC 6531), which mail to
        or from an internationalised address needs.
        """
        await self.close()
        self._client = client = await self._connect()
        try:
            # A relay without AUTH may not have been greeted with EHLO yet.
            await client.ehlo()
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise TransientError(f"SMTP {self.settings.host}: EHLO failed: {exc}") from exc
        offers = client.supports_extension("smtputf8")
        await self.close()
        return offers

    async def close(self) -> None:
        """Close the connection if open."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def transmitted_size(raw: bytes) -> int:
    """The SIZE (RFC 1870) of ``raw`` as DATA sends it, its line endings made CRLF."""
    crlf = raw.count(b"\r\n")
    lone = raw.count(b"\n") - crlf + raw.count(b"\r") - crlf
    # Every line ending becomes CRLF, and a message not ending in one gets one.
    return len(raw) + lone + (0 if raw.endswith((b"\n", b"\r")) else 2)


async def _transaction(
    client: aiosmtplib.SMTP,
    mail_from: str,
    recipients: Sequence[str],
    raw: bytes,
    before_data: Callable[[], Awaitable[object]] | None,
) -> None:
    """MAIL, RCPT and DATA for plain ASCII addresses, the commands sendmail would send.

    The same bytes reach the relay as from ``client.sendmail`` (a test
    compares the two transcripts) and the same aiosmtplib exceptions come out;
    only the parsing of addresses already in envelope form is left out.
    """
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()
    size = client.supports_extension("size")
    options = [f"size={transmitted_size(raw)}".encode()] if size else []
    try:
        response = await client.execute_command(
            b"MAIL", b"FROM:<" + mail_from.encode("ascii") + b">", *options
        )
        if response.code != 250:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, mail_from)
        refused = []
        for address in recipients:
            response = await client.execute_command(
                b"RCPT", b"TO:<" + address.encode("ascii") + b">"
            )
            if response.code not in (250, 251):
                refused.append(
                    aiosmtplib.SMTPRecipientRefused(response.code, response.message, address)
                )
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        if before_data is not None:
            await before_data()
        await client.data(raw)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        # As sendmail does: the envelope is reset so the connection can be
        # used again, and a failure of the reset itself is not the news.
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()
        raise


class _TokenRefused(TransientError):
    """The server answered AUTH with a refusal of the token."""


async def _token_login(
    client: aiosmtplib.SMTP, user: str, token: str, oauth: OAuthSettings | None
) -> None:
    """AUTH XOAUTH2 or OAUTHBEARER with the token as the initial response."""
    await client.ehlo()
    offered = {m.lower() for m in client.server_auth_methods}
    mechanism = oauth.mechanism if oauth else "auto"
    if mechanism == "auto":
        mechanism = "oauthbearer" if "oauthbearer" in offered else "xoauth2"
    response = await client.execute_command(
        b"AUTH", mechanism.upper().encode(), sasl_base64(mechanism, user, token)
    )
    if response.code == 334:
        # The server's error details come as a challenge (RFC 7628 3.2.3);
        # an empty line ends the exchange and brings the final refusal.
        response = await client.execute_command(b"")
    if response.code != 235:
        raise _TokenRefused(f"{response.code} {response.message}")
