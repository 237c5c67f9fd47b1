"""The small hierarchy of errors mailbot raises; ordinary outcomes are return values."""


class MailbotError(Exception):
    """Base class for every error mailbot raises on purpose."""


class ConfigError(MailbotError):
    """The configuration file is missing, unreadable or invalid."""


class RulesError(MailbotError):
    """A rule file or template is invalid; the message names file, entry and key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class TransientError(MailbotError):
    """A server (IMAP, SMTP, database) is unreachable for now; retry later."""


class GrantError(TransientError):
    """The identity provider refused to issue a mail sign-in token (grant revoked, expired, wrong).

    It is transient for the daemon, which retries, because an administrator
    usually puts it right at the provider; but it is logged once and shown
    by ``mailbot status`` rather than retried in silence.
    """


class PermanentSendError(MailbotError):
    """The SMTP server refused a message for good; retrying will not help."""


class Conflict(MailbotError):
    """Another process did the same work first (a unique key refused ours)."""
