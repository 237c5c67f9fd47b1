"""The OAuth2 tests' servers and helpers: a token endpoint, Dovecot with its oauth2 passdb, a relay.

The fixtures here are imported by the test_oauth modules, which get a token
endpoint and an oauth2 Dovecot of their own (module scope).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from servers import DovecotServer, ImapAccount
from smtpserver import OAuthSmtpSink
from sqlalchemy import func, select
from support import SHIPPED_RULES, local, mail
from tokenserver import TokenServer

from mailbot.config import Config, config_from_dict
from mailbot.daemon.service import Daemon
from mailbot.mail.oauth import TokenSources
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import Call

NOW = local(2026, 11, 23, 9, 5)
TENANT = "westshire.onmicrosoft.com"
APP, SECRET = "11111111-2222-3333-4444-555555555555", "app-secret"


@pytest.fixture(scope="module")
def tokens() -> Iterator[TokenServer]:
    server = TokenServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def oauth_dovecot(tokens: TokenServer) -> Iterator[DovecotServer]:
    server = DovecotServer.start(oauth2_key=tokens.public_pem)
    yield server
    server.stop()


@pytest.fixture
def relay(tokens: TokenServer) -> Iterator[OAuthSmtpSink]:
    sink = OAuthSmtpSink(tokens.valid)
    yield sink
    sink.close()


@pytest.fixture
def account(oauth_dovecot: DovecotServer, tokens: TokenServer) -> ImapAccount:
    box = oauth_dovecot.new_account()
    tokens.lifetime = 3600
    return box


def microsoft(tokens: TokenServer, client: str = APP) -> dict[str, Any]:
    return {
        "provider": "microsoft",
        "tenant": TENANT,
        "client_id": client,
        "client_secret": SECRET,
        "authority": tokens.authority(TENANT),
        "ca_file": tokens.ca_file,
    }


def configure(
    tmp_path: Path,
    box: ImapAccount,
    relay: OAuthSmtpSink,
    oauth2: dict[str, Any],
    smtp_oauth2: dict[str, Any] | None = None,
) -> Config:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    upgrade(url)
    server = {"username": box.username, "auth": "oauth2", "oauth2": oauth2}
    relay_login = {**server, "oauth2": smtp_oauth2 or oauth2}
    return config_from_dict(
        {
            "service": {"address": "ictsupport@westshire.gov.uk", "authserv_id": "mx.test"},
            "imap": {"host": box.host, "port": box.port, "security": "none", **server},
            "smtp": {
                "host": relay.host,
                "port": relay.port,
                "security": "starttls",
                "ca_file": relay.ca_file,
                "max_attempts": 3,
                **relay_login,
            },
            "database": {"url": url},
            "rules": {"dir": str(SHIPPED_RULES)},
        },
        base=tmp_path,
    )


def daemon(config: Config, sources: TokenSources | None = None, now: datetime = NOW) -> Daemon:
    made = Daemon(
        config=config,
        rules=load_rules(config.rules.dir),
        sessions=make_sessions(make_engine(config.database.url)),
        clock=lambda: now,
    )
    if sources is not None:
        made.tokens = sources
    return made


def school_mail(n: int) -> bytes:
    raw = mail("school-new-request").replace(b"new-request-1@", f"oauth-{n}@".encode())
    raw = raw.replace(b"Internet very slow", f"Printer {n} jammed".encode())
    return raw.replace(b"<head@oakfield", f"<teacher{n}@oakfield".encode())


def calls(config: Config) -> int:
    with make_sessions(make_engine(config.database.url))() as session:
        return int(session.scalar(select(func.count()).select_from(Call)) or 0)


def confirmations(relay: OAuthSmtpSink) -> list[str]:
    parsed = (
        email.message_from_bytes(m.raw, policy=email.policy.default) for m in relay.to_schools()
    )
    return sorted(str(m["Subject"]) for m in parsed)


class FrozenMonotonic:
    """A monotonic clock that stands still: the cache then never renews on its own."""

    def __call__(self) -> float:
        return 0.0
