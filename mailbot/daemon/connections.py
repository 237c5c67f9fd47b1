"""The daemon's mail servers: their settings from the config, and their outages logged once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mailbot.config import Config
from mailbot.errors import GrantError
from mailbot.mail.imap import ImapSettings
from mailbot.mail.oauth import oauth_settings
from mailbot.mail.smtp import SmtpSettings

log = logging.getLogger(__name__)


def imap_settings(config: Config) -> ImapSettings:
    """Translate the [imap] section into the IMAP module's settings."""
    c = config.imap
    return ImapSettings(
        host=c.host,
        port=c.port,
        username=c.username,
        password=c.secret(),
        security=c.security,
        folder=c.folder,
        processed_folder=c.processed_folder,
        failed_folder=c.failed_folder,
        ca_file=c.ca_file,
        timeout=c.timeout,
        oauth=oauth_settings(c),
    )


def smtp_settings(config: Config, fallback: bool = False) -> SmtpSettings:
    """Translate the [smtp] (or [fallback_smtp]) section into the SMTP module's settings."""
    c = config.fallback_smtp if fallback and config.fallback_smtp else config.smtp
    return SmtpSettings(
        host=c.host,
        port=c.port,
        username=c.username,
        password=c.secret(),
        security=c.security,
        ca_file=c.ca_file,
        timeout=c.timeout,
        oauth=oauth_settings(c),
    )


@dataclass
class Outage:
    """Logs a server outage once when it starts and once when it ends."""

    what: str
    failures: int = 0

    def failed(self, exc: Exception) -> float:
        """Note a failure; return how long to wait before the next try."""
        self.failures += 1
        # A refused grant was logged once already, where the token was asked for.
        if self.failures == 1 and not isinstance(exc, GrantError):
            log.warning("%s unavailable, will keep retrying: %s", self.what, exc)
        return float(min(300, 2 ** min(self.failures, 9)))

    def recovered(self) -> None:
        """Note a success."""
        if self.failures:
            log.warning("%s back after %d failed attempts", self.what, self.failures)
        self.failures = 0
