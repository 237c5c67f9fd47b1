"""Shared helpers for tests: sample mail, configuration and a ready database."""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import functools
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from smtpserver import STAFF_KINDS
from sqlalchemy import create_engine, func, inspect, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from mailbot.calls import listing
from mailbot.config import Config, config_from_dict
from mailbot.daemon.intake import process
from mailbot.pipeline.records import RawMail, Triage
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import Call, Outbox

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAIL = HERE / "mail"
# The corpus of other projects' test mail is not part of this repository: the
# corpus tier (tests/test_corpus_*.py) reads it from MAILBOT_CORPUS, a path that
# may be relative to the repository root, by default the shared folder beside it.
CORPUS = (ROOT / (os.environ.get("MAILBOT_CORPUS") or "../shared/corpus")).resolve()
SHIPPED_RULES = ROOT / "rules"
LONDON = ZoneInfo("Europe/London")
SUPPORT = "ictsupport@westshire.gov.uk"
# The receiving server tests configure; staff mail must carry its
# Authentication-Results (tests/mail/staff-*.eml do, see ``authenticated``).
AUTHSERV = "mx.westshire.gov.uk"


def mail(name: str, **subs: str) -> bytes:
    """Read tests/mail/NAME.eml, replacing placeholders like <CONFIRMATION-ID>."""
    raw = (MAIL / f"{name}.eml").read_bytes()
    for key, value in subs.items():
        raw = raw.replace(f"<{key.upper().replace('_', '-')}>".encode(), value.encode())
    return raw


def authenticated(raw: bytes, authserv_id: str = AUTHSERV) -> bytes:
    """``raw`` with the Authentication-Results our receiving server adds to genuine mail."""
    sender = email.message_from_bytes(raw).get("From", "")
    domain = sender.rsplit("@", 1)[-1].strip(" >")
    line = f"Authentication-Results: {authserv_id}; dmarc=pass header.from={domain}\r\n"
    return line.encode() + raw


def local(*args: int) -> datetime:
    """A Europe/London wall-clock time."""
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def make_config(
    tmp: Path,
    db_url: str,
    *,
    imap: tuple[str, int, str, str] = ("127.0.0.1", 1, "u", "p"),
    smtp: tuple[str, int] = ("127.0.0.1", 1),
    rules_dir: Path = SHIPPED_RULES,
    **imap_extra: object,
) -> Config:
    """A configuration for tests, pointing at the given servers and database."""
    host, port, user, password = imap
    return config_from_dict(
        {
            "service": {
                "address": SUPPORT,
                "name": "Westshire Schools ICT Support",
                "authserv_id": AUTHSERV,
            },
            "imap": {
                "host": host,
                "port": port,
                "username": user,
                "password": password,
                "security": "none",
                **imap_extra,
            },
            "smtp": {"host": smtp[0], "port": smtp[1], "security": "none", "max_attempts": 3},
            "database": {"url": db_url},
            "rules": {"dir": str(rules_dir)},
        },
        base=tmp,
    )


@dataclass
class Env:
    """A configured mailbot with a migrated database, for driving the pipeline."""

    config: Config
    rules: Rules
    sessions: sessionmaker[Session]

    def feed(self, raw: bytes, now: datetime) -> Triage:
        return process(
            RawMail(raw=raw, size=len(raw)),
            sessions=self.sessions,
            config=self.config,
            rules=self.rules,
            now=now,
        )

    def count_calls(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count(Call.id))) or 0

    def outbox(self) -> list[Outbox]:
        with self.sessions() as s:
            return list(s.scalars(select(Outbox).order_by(Outbox.id)))

    def to_schools(self) -> list[Outbox]:
        """The outbox without mailbot's notices to staff."""
        return [o for o in self.outbox() if o.kind not in STAFF_KINDS]


# --- a migrated database and the shipped rules, made once per session -------------


@functools.cache
def shipped_rules() -> Rules:
    """The shipped rules, loaded once: Rules is frozen, and tests that change rules use a copy."""
    return load_rules(SHIPPED_RULES)


def rules_in(rules_dir: Path) -> Rules:
    return shipped_rules() if rules_dir == SHIPPED_RULES else load_rules(rules_dir)


@functools.cache
def _sqlite_template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mailbot-migrated-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


@functools.cache
def _postgres_template(server: str) -> str:
    """The name of a migrated database on the PostgreSQL server at ``server`` (a URL)."""
    name = "mailbot_migrated_template"
    _postgres_admin(server, f'CREATE DATABASE "{name}"')
    upgrade(f"{server}/{name}")
    return name


def _postgres_admin(server: str, *statements: str) -> None:
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def migrated(db_url: str) -> None:
    """``upgrade(db_url)``, by copying a database migrated once per session when it is new.

    Running Alembic for each test cost more than most tests; a copy of the
    migrated file (SQLite) or ``CREATE DATABASE ... TEMPLATE`` (PostgreSQL) gives
    the same schema.  A database that already holds tables is upgraded as before.
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        target = Path(url.database)
        if not target.exists() or target.stat().st_size == 0:
            with (
                contextlib.closing(sqlite3.connect(_sqlite_template())) as source,
                contextlib.closing(sqlite3.connect(target)) as copy,
            ):
                source.backup(copy)
            # The copy gets the file mode upgrade() gave the template.
            shutil.copymode(_sqlite_template(), target)
            return
    elif url.get_backend_name() == "postgresql" and url.database:
        engine = create_engine(url)
        try:
            empty = not inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if empty:
            server = db_url.rsplit("/", 1)[0]
            template = _postgres_template(server)
            _postgres_admin(
                server,
                f'DROP DATABASE "{url.database}"',
                f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"',
            )
            return
    upgrade(db_url)


def bulk_rules(tmp: Path) -> Path:
    """A copy of the shipped rules with the cap on new calls per domain out of the way.

    Tests of crash safety and concurrency deliver a school's worth of distinct
    requests at one instant, which the shipped rules treat as a flood; they
    are about losing nothing and doing nothing twice, not about the flood cap
    (tests/test_caps.py covers that).
    """
    folder = tmp / "bulk-rules"
    shutil.copytree(SHIPPED_RULES, folder)
    policy = folder / "policy.toml"
    cap = "new_calls_per_domain_per_hour = "
    text = policy.read_text(encoding="utf-8")
    assert f"{cap}20" in text
    policy.write_text(text.replace(f"{cap}20", f"{cap}1000000"), encoding="utf-8")
    return folder


def make_env(tmp: Path, db_url: str, rules_dir: Path = SHIPPED_RULES) -> Env:
    migrated(db_url)
    config = make_config(tmp, db_url, rules_dir=rules_dir)
    return Env(config, rules_in(rules_dir), make_sessions(make_engine(db_url)))


def make_env_with(tmp: Path, db_url: str, name: str, now: datetime) -> Env:
    """``make_env`` after tests/mail/NAME.eml has come in at ``now``."""
    made = make_env(tmp, db_url)
    made.feed(mail(name), now)
    return made


# --- what mailbot sent -----------------------------------------------------------


class Sent(Protocol):
    """An email mailbot sent: an Outbox row, or a message the SMTP sink accepted."""

    @property
    def raw(self) -> bytes: ...


def of_kind(env: Env, kind: str) -> list[Outbox]:
    """The outbox rows of one kind (the X-Mailbot-Id), oldest first."""
    return [o for o in env.outbox() if o.kind == kind]


def parsed(row: Sent) -> EmailMessage:
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def header(row: Sent, name: str) -> str:
    return str(parsed(row)[name])


def plain(row: Sent, *, normalise: bool = True) -> str:
    """The plain-text body; with ``normalise``, CRLF line ends made LF."""
    part = parsed(row).get_body(preferencelist=("plain",))
    assert part is not None
    content = str(part.get_content())
    return content.replace("\r\n", "\n") if normalise else content


def recipients(row: Outbox) -> list[str]:
    return list(json.loads(row.recipients))


def sent_mail(env: Env, *, leaving_out: Collection[str]) -> list[tuple[str, list[str], str]]:
    """(kind, recipients, plain text as sent) of each outbox row but the kinds left out."""
    return [
        (row.kind, recipients(row), plain(row, normalise=False))
        for row in env.outbox()
        if row.kind not in leaving_out
    ]


# --- a call's record -------------------------------------------------------------


def show(env: Env, ref: str = "ICT-000001") -> dict[str, Any]:
    """What `mailbot calls show REF --json` prints, as a dict."""
    found = listing.show_call(env.sessions, ref)
    assert found is not None
    return found


def events_of(env: Env, kind: str, ref: str = "ICT-000001") -> list[dict[str, str]]:
    return [e for e in show(env, ref)["events"] if e["kind"] == kind]


def work(env: Env, ref: str = "ICT-000001") -> list[tuple[str, str, str]]:
    """(kind, actor, detail) of the call's events but the emails stored on it."""
    return [
        (e["kind"], e["actor"], e["detail"])
        for e in show(env, ref)["events"]
        if e["kind"] != "message"
    ]


# --- configuration files -----------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A server's address for a configuration whose test never reaches it."""

    host: str = "127.0.0.1"
    port: int = 1
    username: str = ""
    password: str = ""


def write_config_file(
    folder: Path,
    *,
    url: str,
    imap: Any = None,
    smtp: Any = None,
    rules_dir: Path = SHIPPED_RULES,
    name: bool = True,
    authserv_id: str = AUTHSERV,
    extra: str = "",
    **imap_options: object,
) -> Path:
    """Write FOLDER/config.toml for running mailbot's command line in a test.

    ``imap`` is a Dovecot account (host, port, username, password) and ``smtp``
    an SMTP sink (host, port); left out, each is an ``Address`` nothing listens
    on. ``imap_options`` are more [imap] keys (``poll_seconds=1``); ``extra`` is
    TOML added after the rest (whole tables such as [scheduler]).
    """
    imap = imap or Address()
    smtp = smtp or Address()
    service = [f'address = "{SUPPORT}"']
    if name:
        service.append('name = "Westshire Schools ICT Support"')
    if authserv_id:
        service.append(f'authserv_id = "{authserv_id}"')
    mailbox = [f'host = "{imap.host}"', f"port = {imap.port}", 'security = "none"']
    if imap.username:
        mailbox.append(f'username = "{imap.username}"')
    if imap.password:
        mailbox.append(f'password = "{imap.password}"')
    mailbox += [f"{key} = {json.dumps(value)}" for key, value in imap_options.items()]
    lines = [
        "[service]", *service,
        "[imap]", *mailbox,
        "[smtp]", f'host = "{smtp.host}"', f"port = {smtp.port}", 'security = "none"',
        "[database]", f'url = "{url}"',
        "[rules]", f'dir = "{rules_dir}"',
        extra,
    ]  # fmt: skip
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
