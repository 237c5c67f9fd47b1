"""Shared helpers for tests: sample mail, configuration and a ready database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.config import Config, config_from_dict
from mailbot.db import make_engine, make_sessions, upgrade
from mailbot.intake import process
from mailbot.models import Call, Outbox
from mailbot.rules import Rules, load_rules
from mailbot.triage import RawMail, Triage

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MAIL = HERE / "mail"
CORPUS = ROOT.parent / "shared" / "corpus"
SHIPPED_RULES = ROOT / "rules"
LONDON = ZoneInfo("Europe/London")
SUPPORT = "ictsupport@westshire.gov.uk"
# Kinds of mail mailbot sends to staff rather than to schools.
STAFF_KINDS = frozenset(
    {"new_call", "school_reply", "receipt", "staff_update", "escalation1", "escalation2"}
    | {"change_review", "change_reminder", "change_update"}
)


def mail(name: str, **subs: str) -> bytes:
    """Read tests/mail/NAME.eml, replacing placeholders like <CONFIRMATION-ID>."""
    raw = (MAIL / f"{name}.eml").read_bytes()
    for key, value in subs.items():
        raw = raw.replace(f"<{key.upper().replace('_', '-')}>".encode(), value.encode())
    return raw


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
            "service": {"address": SUPPORT, "name": "Westshire Schools ICT Support"},
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


def make_env(tmp: Path, db_url: str, rules_dir: Path = SHIPPED_RULES) -> Env:
    upgrade(db_url)
    config = make_config(tmp, db_url, rules_dir=rules_dir)
    return Env(config, load_rules(rules_dir), make_sessions(make_engine(db_url)))
