"""Load and validate the TOML configuration file into typed settings."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from mailbot.config.base import Strict, one_of, read_secret
from mailbot.config.oauth2 import OAuth2Config, oauth2_beside
from mailbot.errors import ConfigError

Security = Literal["ssl", "starttls", "none"]
Auth = Literal["password", "oauth2"]


class ServerConfig(Strict):
    """Connection settings shared by the IMAP and SMTP sections."""

    host: str
    port: int = Field(gt=0, lt=65536)
    username: str = ""
    password: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    security: Security = "ssl"
    ca_file: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    # "password", or "oauth2" with an [imap.oauth2] / [smtp.oauth2] table.
    auth: Auth = "password"
    oauth2: OAuth2Config | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> ServerConfig:
        given = one_of(self, "password", "password_file", "password_env")
        if self.auth == "oauth2" and self.oauth2 is None:
            raise ValueError('auth = "oauth2" needs an oauth2 table')
        if self.auth == "oauth2" and given:
            raise ValueError(f'auth = "oauth2" signs in with a token: remove {given[0]}')
        if self.auth == "password" and self.oauth2 is not None:
            raise ValueError('an oauth2 table is used only with auth = "oauth2"')
        return self

    def secret(self) -> str:
        """Return the password from whichever source the configuration names."""
        return read_secret("password", self.password, self.password_file, self.password_env)


class ImapConfig(ServerConfig):
    """The support mailbox."""

    port: int = Field(default=993, gt=0, lt=65536)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    batch_size: int = Field(default=100, gt=0, le=5000)
    idle: bool = True
    poll_seconds: float = Field(default=60.0, gt=0)


class SmtpConfig(ServerConfig):
    """The relay mailbot sends through."""

    port: int = Field(default=465, gt=0, lt=65536)
    max_attempts: int = Field(default=8, gt=0)
    # Connections to the relay the outbox sends over at once.  More send a
    # broadcast to thousands faster when the relay has cores to spare; they
    # take turns to hand over the message itself (DATA), so a crash still
    # repeats at most one email (with its own Message-ID, so recipients' mail
    # programs show it once), whatever the number.
    connections: int = Field(default=1, ge=1, le=16)


class IntakeConfig(Strict):
    """The budget one received email gets in the worker process that parses and screens it."""

    # CPU seconds the worker may spend on one email's parse, screen and
    # redaction; an email that needs more is parked in the Failed folder.
    message_cpu_seconds: float = Field(default=5.0, gt=0, le=600)
    # Wall-clock seconds mailbot waits for one email's result before it kills
    # the worker: the backstop for a worker that is stuck rather than busy.
    message_wall_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The worker's address-space limit in MB (RLIMIT_AS), so one email cannot
    # take the host's memory; 0 leaves it unlimited.
    worker_memory_mb: int = Field(default=2048, ge=0)


# The systemd unit's StateDirectory: the one place the installed service may
# write, so the default database lives there rather than beside the config
# file in /etc/mailbot, which the unit makes read-only.
DEFAULT_DATABASE_URL = "sqlite:////var/lib/mailbot/mailbot.db"


class DatabaseConfig(Strict):
    """Where calls live; SQLite by default, PostgreSQL for larger installs."""

    url: str = DEFAULT_DATABASE_URL


class RulesConfig(Strict):
    """Where the administrators' rule files are, and where their compiled templates are kept."""

    dir: Path = Path("rules")
    # Where compiled templates are kept for the next command, so that each
    # command does not compile them again (made with mode 0700 when missing;
    # a folder anyone else owns or may write to is not used).  Unset: Jinja's
    # per-user folder in the temporary directory.  A folder that cannot be
    # written (a read-only system) only means each process compiles afresh.
    # The bank holidays read from the holidays library are kept there too
    # (unset: mailbot's per-user folder in the temporary directory).
    template_cache: Path | None = None


class SchedulerConfig(Strict):
    """How often the scheduler looks for due escalations and closures."""

    tick_seconds: float = Field(default=60.0, gt=0)
    # Calls handled per job per tick; the rest wait for the next tick.
    batch: int = Field(default=200, gt=0, le=10000)


class ServiceConfig(Strict):
    """Who mailbot is on the wire."""

    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = "Schools ICT Support"
    message_id_domain: str | None = None
    max_stored_attachment_bytes: int = Field(default=5_000_000, ge=0)
    # The text of a received email is stored (and read by every later pass)
    # up to this many characters; the rest is cut with a note that the whole
    # message stays in the mailbox.  A real email's text is a few KB; a 14 MB
    # single line once made a 28 MB team notice and 112 MB of database.
    max_stored_text_chars: int = Field(default=200_000, ge=1_000)
    # Emails mailbot sends (team notices, relays to schools) quote at most this
    # many characters of a message's text, with a note when they were cut.
    max_quoted_text_chars: int = Field(default=20_000, ge=1_000)
    # The authserv-id our receiving mail server writes in Authentication-Results.
    # Staff mail must pass DKIM or SPF aligned with From (or DMARC) there
    # before its commands run or its words reach a school; while it is unset,
    # no staff mail can be verified, so all of it is held and its owner warned.
    authserv_id: str | None = Field(default=None, min_length=1)
    # VERP: send every email with a return path of its own, the service
    # address with a signed tag after the separator ("ictsupport+b-<tag>@..."),
    # so a bounce of it is recognised with certainty and the contact that
    # bounced is listed in `mailbot status`.  The receiving server must deliver
    # tagged addresses into the service mailbox (plus addressing).
    verp: bool = True
    # What the receiving server puts between the mailbox name and the tag:
    # "+" for most (Postfix, Dovecot, Exchange Online, Gmail), "-" for some
    # (qmail, or Postfix with recipient_delimiter = -).
    verp_separator: str = Field(default="+", pattern=r"^[-+=._]$")
    # The insecure opt-out: with no authserv_id, believe a staff From header
    # as it stands.  Anyone can forge one, so the command line and start-up
    # warn whenever this is on; it exists for trials on a closed network.
    insecure_trust_staff_from_header: bool = False

    def insecure_warning(self) -> str | None:
        """The one-line warning about staff trust, or None when staff mail is verified."""
        if self.authserv_id:
            return None
        if self.insecure_trust_staff_from_header:
            return (
                "WARNING: insecure_trust_staff_from_header is on and authserv_id is unset: "
                "anyone who forges a staff From address can run commands and write to schools"
            )
        return (
            "warning: [service] authserv_id is unset, so no staff mail can be verified: "
            "all of it is held and its owner warned (see config.example.toml)"
        )

    @property
    def id_domain(self) -> str:
        """Domain used on the right of every Message-ID mailbot generates."""
        return self.message_id_domain or self.address.rsplit("@", 1)[1]


class FallbackSmtpConfig(SmtpConfig):
    """A second relay for broadcasts while school email itself is down."""


class StatusPageConfig(Strict):
    """Where the public status page (HTML and an Atom feed) is written, and its address."""

    # Empty: no status page is written.
    dir: Path | None = None
    # The page's public address, linked from every broadcast.
    url: str = ""
    title: str = "Schools ICT service status"
    # How many resolved incidents stay on the page, newest first.
    recent: int = Field(default=10, ge=0, le=200)
    # The service desk's telephone number.  While a major incident has school
    # email down, the page tells schools to telephone it instead of emailing
    # (with none set, it tells them not to email and to watch the page).
    phone: str = ""


class LoggingConfig(Strict):
    """How much the service logs (the command line's --log-level wins)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(Strict):
    """The whole configuration, validated once at start and passed explicitly."""

    service: ServiceConfig
    imap: ImapConfig
    smtp: SmtpConfig
    intake: IntakeConfig = IntakeConfig()
    database: DatabaseConfig = DatabaseConfig()
    rules: RulesConfig = RulesConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    status_page: StatusPageConfig = StatusPageConfig()
    logging: LoggingConfig = LoggingConfig()
    # Optional: when set, broadcasts to alternative addresses (school email
    # down) leave through this relay instead of [smtp].
    fallback_smtp: FallbackSmtpConfig | None = None


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        lines.append(f"  [{key}] {err['msg']}")
    return "\n".join(lines)


def load_config(path: Path) -> Config:
    """Read ``path`` and return a validated Config; relative paths resolve beside it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(data, base=path.parent, source=str(path))


def config_from_dict(data: dict[str, object], *, base: Path, source: str = "config") -> Config:
    """Validate already-loaded configuration data; used by load_config and the demo."""
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration:\n{_describe(exc)}") from exc
    # Relative paths are taken relative to the configuration file, so a service
    # started from any working directory finds the same rules and database.
    rules_dir = config.rules.dir if config.rules.dir.is_absolute() else base / config.rules.dir
    template_cache = config.rules.template_cache
    if template_cache is not None and not template_cache.is_absolute():
        template_cache = base / template_cache
    url = config.database.url
    prefix = "sqlite:///"
    rest = url[len(prefix) :]
    # A SQLite URI ("file:...?mode=ro&uri=true") names its file itself.
    if url.startswith(prefix) and rest and not rest.startswith(("/", "file:")):
        url = prefix + str((base / rest).resolve())
    servers: dict[str, object] = {}
    for name in ("imap", "smtp", "fallback_smtp"):
        section = getattr(config, name)
        if section is None:
            continue
        paths: dict[str, object] = {}
        if section.password_file is not None and not section.password_file.is_absolute():
            paths["password_file"] = base / section.password_file
        if section.ca_file and not Path(section.ca_file).is_absolute():
            paths["ca_file"] = str(base / section.ca_file)
        if section.oauth2 is not None:
            oauth2 = oauth2_beside(section.oauth2, base)
            if oauth2 is not section.oauth2:
                paths["oauth2"] = oauth2
        if paths:
            servers[name] = section.model_copy(update=paths)
    page = config.status_page
    if page.dir is not None and not page.dir.is_absolute():
        page = page.model_copy(update={"dir": base / page.dir})
    return config.model_copy(
        update={
            "rules": RulesConfig(dir=rules_dir, template_cache=template_cache),
            "database": DatabaseConfig(url=url),
            "status_page": page,
            **servers,
        }
    )
