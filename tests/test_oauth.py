"""OAuth2 sign-in against real servers: Dovecot's oauth2 passdb, an XOAUTH2 relay, a token endpoint.

Microsoft 365 (client credentials through MSAL), Google (service account and
refresh token through google-auth) and a token command; mail end to end
through the daemon, tokens expiring mid-run, and a revoked grant.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import sys
import time
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
from mailbot.daemon import health
from mailbot.daemon.service import Daemon, imap_settings, smtp_settings
from mailbot.errors import ConfigError, GrantError, TransientError
from mailbot.mail import imap, smtp
from mailbot.mail.oauth import OAuthSettings, TokenSource, TokenSources
from mailbot.rules.loader import load_rules
from mailbot.storage.db import make_engine, make_sessions, upgrade
from mailbot.storage.models import Call

pytestmark = pytest.mark.servers

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


# --- configuration -------------------------------------------------------------------


def test_oauth2_needs_its_table_and_no_password(tmp_path: Path) -> None:
    base = {"service": {"address": "a@b.example"}, "smtp": {"host": "h", "port": 25}}
    imap_section = {"host": "h", "username": "u", "auth": "oauth2"}
    with pytest.raises(ConfigError, match="needs an oauth2 table"):
        config_from_dict({**base, "imap": imap_section}, base=tmp_path)
    with_password = {
        **imap_section,
        "password": "p",
        "oauth2": {"provider": "command", "command": ["x"]},
    }
    with pytest.raises(ConfigError, match="signs in with a token"):
        config_from_dict({**base, "imap": with_password}, base=tmp_path)
    no_secret = {
        **imap_section,
        "oauth2": {"provider": "microsoft", "tenant": "t", "client_id": "c"},
    }
    with pytest.raises(ConfigError, match="client secret or a certificate"):
        config_from_dict({**base, "imap": no_secret}, base=tmp_path)


# --- each provider signs in to both servers ----------------------------------------------


def test_microsoft_client_credentials_sign_in_to_imap_and_smtp(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    config = configure(tmp_path, account, relay, microsoft(tokens))
    sources = TokenSources()
    before = len(tokens.issued)
    imap_login = imap_settings(config)
    imap.check_login(imap_login, sources.get(imap_login.oauth))
    smtp_login = smtp_settings(config)
    asyncio.run(smtp.SmtpSender(smtp_login, sources.get(smtp_login.oauth)).check_login())
    # One token, fetched once and shared by IMAP (OAUTHBEARER, which Dovecot
    # offers) and SMTP (XOAUTH2, all this relay takes).
    assert tokens.issued[before:] == [account.username]
    assert relay.tally == {"accepted": 1, "refused": 0}


def test_google_service_account_signs_in_as_the_delegated_mailbox(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    key_file = tmp_path / "service-account.json"
    key_file.write_text(tokens.add_service_account("mailbot@westshire.iam.example"))
    oauth2 = {
        "provider": "google",
        "service_account_file": str(key_file),
        "token_uri": tokens.google_token_uri,
        "ca_file": tokens.ca_file,
    }
    config = configure(tmp_path, account, relay, oauth2)
    imap.check_login(imap_settings(config))
    asyncio.run(smtp.SmtpSender(smtp_settings(config)).check_login())
    assert relay.tally["accepted"] == 1


def test_google_refresh_token_from_the_environment(
    tmp_path: Path,
    account: ImapAccount,
    relay: OAuthSmtpSink,
    tokens: TokenServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens.add_refresh_token(
        "1//refresh-" + account.username, "gclient", "gsecret", account.username
    )
    monkeypatch.setenv("MAILBOT_TEST_REFRESH", "1//refresh-" + account.username)
    oauth2 = {
        "provider": "google",
        "client_id": "gclient",
        "client_secret": "gsecret",
        "refresh_token_env": "MAILBOT_TEST_REFRESH",
        "token_uri": tokens.google_token_uri,
        "ca_file": tokens.ca_file,
        "mechanism": "xoauth2",
    }
    config = configure(tmp_path, account, relay, oauth2)
    imap.check_login(imap_settings(config))
    asyncio.run(smtp.SmtpSender(smtp_settings(config)).check_login())
    assert relay.tally["accepted"] == 1


def test_token_command_prints_the_token(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    # The command is a program of the administrator's; here it prints a token
    # it got from the test endpoint (as JSON with its lifetime).
    tokens.add_microsoft_app("cmd-app", SECRET, account.username)
    token = tokens.token_response(
        f"/{TENANT}/oauth2/v2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": "cmd-app",
            "client_secret": SECRET,
            "scope": "https://outlook.office365.com/.default",
        },
    )[1]
    script = tmp_path / "token.json"
    script.write_text(f'{{"access_token": "{token["access_token"]}", "expires_in": 600}}')
    oauth2 = {
        "provider": "command",
        "command": [sys.executable, "-c", f"print(open({str(script)!r}).read())"],
    }
    config = configure(tmp_path, account, relay, oauth2)
    imap.check_login(imap_settings(config))
    asyncio.run(smtp.SmtpSender(smtp_settings(config)).check_login())
    assert relay.tally["accepted"] == 1


def test_a_wrong_mailbox_is_refused_by_both_servers_after_one_renewal(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    # The app's access covers another mailbox only (no Add-MailboxPermission
    # for this one): the token is issued but each server refuses it.
    tokens.add_microsoft_app("other-app", SECRET, "someone-else@test.example")
    config = configure(tmp_path, account, relay, microsoft(tokens, "other-app"))
    before = len(tokens.issued)
    with pytest.raises(TransientError, match="refused the OAuth2 token"):
        imap.check_login(imap_settings(config))
    with pytest.raises(TransientError, match="refused the OAuth2 token"):
        asyncio.run(smtp.SmtpSender(smtp_settings(config)).check_login())
    # Each refusal brought exactly one fresh token before giving up.
    assert len(tokens.issued) - before == 4
    assert relay.tally == {"accepted": 0, "refused": 2}


# --- mail through the daemon ------------------------------------------------------------


def test_mail_flows_end_to_end_with_oauth2_on_imap_and_smtp(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    config = configure(tmp_path, account, relay, microsoft(tokens))
    account.deliver(school_mail(1))
    report, sent, _ = asyncio.run(daemon(config).run_once())
    assert [o.action for o in report.outcomes] == ["open_call"]
    assert sent.sent == 2 and sent.retrying == 0
    assert confirmations(relay) == ["[ICT-000001] Printer 1 jammed in the ICT suite"]
    assert account.uids("INBOX") == [] and len(account.uids("Processed")) == 1


class _FrozenMonotonic:
    """A monotonic clock that stands still: the cache then never renews on its own."""

    def __call__(self) -> float:
        return 0.0


def test_tokens_expiring_mid_run_lose_and_repeat_no_mail(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    tokens.lifetime = 3
    config = configure(tmp_path, account, relay, microsoft(tokens))
    running = daemon(config)
    before = len(tokens.issued)
    for n in range(1, 4):
        account.deliver(school_mail(n))
        asyncio.run(running.run_once())
        # Past the token's life: the next round must sign in with a new one.
        time.sleep(3.5)
    # Every round found its cached token near expiry and renewed it first.
    assert len(tokens.issued) - before == 3
    assert calls(config) == 3
    assert confirmations(relay) == [
        f"[ICT-00000{n}] Printer {n} jammed in the ICT suite" for n in (1, 2, 3)
    ]
    assert len(relay.messages) == 6  # each call: the confirmation and the team's notice
    assert account.uids("INBOX") == []


def test_an_expired_token_the_cache_still_trusts_is_renewed_once_when_refused(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    tokens.lifetime = 2
    config = configure(tmp_path, account, relay, microsoft(tokens))
    sources = TokenSources(monotonic=_FrozenMonotonic())
    running = daemon(config, sources)
    account.deliver(school_mail(1))
    asyncio.run(running.run_once())
    time.sleep(3)
    # The cache believes its token fresh; Dovecot refuses it as expired, and
    # the one renewal serves IMAP and then SMTP, which shares the token.
    account.deliver(school_mail(2))
    before = len(tokens.issued)
    report, sent, _ = asyncio.run(running.run_once())
    assert [o.action for o in report.outcomes] == ["open_call"]
    assert sent.sent == 2 and sent.retrying == 0
    assert len(tokens.issued) - before == 1
    assert relay.tally["refused"] == 0
    assert calls(config) == 2 and len(relay.messages) == 4


def test_smtp_renews_an_expired_token_once_when_the_relay_refuses_it(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    tokens.lifetime = 2
    config = configure(tmp_path, account, relay, microsoft(tokens))
    settings = smtp_settings(config)
    assert settings.oauth is not None
    source = TokenSource(settings.oauth, monotonic=_FrozenMonotonic())
    sender = smtp.SmtpSender(settings, source)
    asyncio.run(sender.check_login())
    time.sleep(3)
    asyncio.run(sender.check_login())
    assert relay.tally == {"accepted": 2, "refused": 1}
    assert source.fetches == 2


def test_a_revoked_grant_is_one_log_line_and_a_status_problem(
    tmp_path: Path,
    account: ImapAccount,
    relay: OAuthSmtpSink,
    tokens: TokenServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = "revoked-app"
    tokens.add_microsoft_app(client, SECRET, account.username)
    tokens.lifetime = 2
    config = configure(tmp_path, account, relay, microsoft(tokens, client))
    running = daemon(config)
    account.deliver(school_mail(1))
    asyncio.run(running.run_once())
    assert calls(config) == 1
    tokens.revoke(client)
    time.sleep(2.5)
    account.deliver(school_mail(2))
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with pytest.raises(GrantError, match="invalid_client"):
            asyncio.run(running.run_once())
    lines = [r.getMessage() for r in caplog.records if "refused the OAuth2 grant" in r.getMessage()]
    assert len(lines) == 1, lines
    assert not any(r.exc_info for r in caplog.records)
    figures = health.check(running.sessions, NOW)
    [problem] = [p for p in figures.problems(NOW, 60) if "sign-in" in p]
    assert "invalid_client" in problem and account.username in problem
    # Nothing was lost: the second email waits in the inbox for the grant's return.
    assert len(account.uids("INBOX")) == 1 and calls(config) == 1
    assert len(relay.messages) == 2
    tokens.restore(client)
    report, sent, _ = asyncio.run(running.run_once())
    assert [o.action for o in report.outcomes] == ["open_call"] and sent.sent == 2
    assert not [p for p in health.check(running.sessions, NOW).problems(NOW, 60) if "sign-in" in p]
    assert calls(config) == 2 and len(relay.messages) == 4


def test_token_source_renews_before_expiry_without_a_refusal(tokens: TokenServer) -> None:
    tokens.add_microsoft_app("cache-app", SECRET, "cache@test.example")
    tokens.lifetime = 40
    now = [0.0]
    source = TokenSource(
        OAuthSettings(
            provider="microsoft",
            user="cache@test.example",
            tenant=TENANT,
            client_id="cache-app",
            client_secret=SECRET,
            authority=tokens.authority(TENANT),
            ca_file=tokens.ca_file,
        ),
        monotonic=lambda: now[0],
    )
    first = source.token()
    now[0] = 29.0  # three quarters of the life left is not yet renewal time
    assert source.token() == first and source.fetches == 1
    now[0] = 30.5
    assert source.token() != first and source.fetches == 2


def test_outgoing_mail_waits_out_a_refused_grant_without_using_up_its_tries(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    tokens.add_microsoft_app("smtp-app", SECRET, account.username)
    tokens.revoke("smtp-app")
    config = configure(
        tmp_path, account, relay, microsoft(tokens), smtp_oauth2=microsoft(tokens, "smtp-app")
    )
    account.deliver(school_mail(1))
    # Hours of a refused grant, well past max_attempts (3) tries with backoff.
    for hour in range(6):
        _, sent, _ = asyncio.run(daemon(config, now=local(2026, 11, 23, 9 + hour, 5)).run_once())
        assert sent.failed == 0
    assert calls(config) == 1 and relay.messages == []
    tokens.restore("smtp-app")
    _, sent, _ = asyncio.run(daemon(config, now=local(2026, 11, 23, 16, 5)).run_once())
    assert sent.sent == 2 and len(relay.messages) == 2
