"""OAuth2 mail through the daemon: end to end, tokens expiring mid-run, a revoked grant.

Real servers throughout: Dovecot's oauth2 passdb, an XOAUTH2-only relay and
the local token endpoint (tests/tokenserver.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oauthsupport
import pytest
from oauthsupport import (
    APP,
    NOW,
    SECRET,
    FrozenMonotonic,
    calls,
    configure,
    confirmations,
    daemon,
    microsoft,
    school_mail,
)
from servers import ImapAccount
from smtpserver import OAuthSmtpSink
from support import SHIPPED_RULES, local
from tokenserver import TokenServer

from mailbot.cli.main import main
from mailbot.daemon import health
from mailbot.errors import GrantError
from mailbot.mail.oauth import TokenSources

pytestmark = pytest.mark.servers

# The shared fixtures: a token endpoint and an oauth2 Dovecot per module, a relay
# and a mailbox per test.
tokens = oauthsupport.tokens
oauth_dovecot = oauthsupport.oauth_dovecot
relay = oauthsupport.relay
account = oauthsupport.account

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
    # Every round found its cached token expired and renewed it first.  A
    # round slower than three-quarters of the token's three-second life (a
    # loaded machine) renews once more within the round, so this is a floor.
    assert len(tokens.issued) - before >= 3
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
    # Long enough that the renewed token outlives one whole run on a busy
    # machine (the intake worker starts between the IMAP and SMTP sign-ins).
    tokens.lifetime = 10
    config = configure(tmp_path, account, relay, microsoft(tokens))
    sources = TokenSources(monotonic=FrozenMonotonic())
    running = daemon(config, sources)
    account.deliver(school_mail(1))
    asyncio.run(running.run_once())
    time.sleep(11)
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


def write_config(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, oauth: dict[str, Any]
) -> Path:
    """config.toml signing in to both servers with ``oauth``, for the command line."""
    oauth2 = "\n".join(f"{k} = {json.dumps(v)}" for k, v in oauth.items())
    login = f'username = "{account.username}"\nauth = "oauth2"'
    path = tmp_path / "config.toml"
    path.write_text(
        f'[service]\naddress = "ictsupport@westshire.gov.uk"\nauthserv_id = "mx.test"\n'
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "none"\n{login}\n'
        f"poll_seconds = 1\n[imap.oauth2]\n{oauth2}\n"
        f'[smtp]\nhost = "{relay.host}"\nport = {relay.port}\nsecurity = "starttls"\n'
        f'ca_file = "{relay.ca_file}"\n{login}\n[smtp.oauth2]\n{oauth2}\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "mailbot.db"}"\n'
        f'[rules]\ndir = "{SHIPPED_RULES}"\n'
    )
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_the_running_daemon_answers_each_email_once_across_token_lifetimes(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app("loop-app", SECRET, account.username)
    tokens.lifetime = 3
    path = write_config(tmp_path, account, relay, microsoft(tokens, "loop-app"))
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailbot", "--config", str(path), "run"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_for(lambda: "mailbot running" in log.read_text()), log.read_text()
        for n in (1, 2, 3):
            account.deliver(school_mail(n))
            assert wait_for(lambda n=n: len(relay.to_schools()) == n), log.read_text()
            time.sleep(3.5)  # the token in use expires before the next email
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert confirmations(relay) == [
        f"[ICT-00000{n}] Printer {n} jammed in the ICT suite" for n in (1, 2, 3)
    ]
    assert len(relay.messages) == 6 and account.uids("INBOX") == []
    assert "Traceback" not in log.read_text()


def test_the_command_line_says_a_revoked_grant_in_one_line_and_status_shows_it(
    tmp_path: Path,
    account: ImapAccount,
    relay: OAuthSmtpSink,
    tokens: TokenServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens.add_microsoft_app("cli-app", SECRET, account.username)
    tokens.revoke("cli-app")
    path = write_config(tmp_path, account, relay, microsoft(tokens, "cli-app"))
    account.deliver(school_mail(1))
    assert main(["--config", str(path), "run", "--once"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mailbot: microsoft refused the OAuth2 grant")
    assert main(["--config", str(path), "status"]) == 2
    out = capsys.readouterr().out
    assert "! mail sign-in refused: " in out and "invalid_client" in out
    assert len(account.uids("INBOX")) == 1
