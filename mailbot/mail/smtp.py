"""Send email through the configured SMTP relay with aiosmtplib, reusing one connection."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import aiosmtplib

from mailbot.errors import PermanentSendError, TransientError


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


class SmtpSender:
    """One reusable SMTP connection; reconnects when the server has dropped it."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(self.settings.ca_file)
        return context

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == "ssl",
            start_tls=s.security == "starttls",
            tls_context=self._tls_context() if s.security != "none" else None,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, s.password)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TransientError(f"SMTP login refused: {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"cannot connect to SMTP {s.host}:{s.port}: {exc}") from exc
        return client

    async def verify(self) -> None:
        """Connect and log in exactly as for sending, then leave without sending anything."""
        client = await self._connect()
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        """Send one message; raise TransientError or PermanentSendError on failure."""
        if self._client is None or not self._client.is_connected:
            self._client = await self._connect()
        try:
            errors, _ = await self._client.sendmail(mail_from, list(recipients), raw)
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
        del errors

    async def close(self) -> None:
        """Close the connection if open."""
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
