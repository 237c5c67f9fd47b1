"""OAuth2 sign-in for each provider against real servers, and the oauth2 configuration keys.

Microsoft 365 (client credentials through MSAL), Google (service account and
refresh token through google-auth) and a token command, each signing in to
Dovecot's oauth2 passdb and an XOAUTH2-only relay; renewal on refusal.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import oauthsupport
import pytest
from oauthsupport import (
    APP,
    SECRET,
    TENANT,
    FrozenMonotonic,
    configure,
    microsoft,
)
from servers import ImapAccount
from smtpserver import OAuthSmtpSink
from tokenserver import TokenServer

from mailbot.config import config_from_dict
from mailbot.daemon.connections import imap_settings, smtp_settings
from mailbot.errors import ConfigError, GrantError, TransientError
from mailbot.mail import imap, smtp
from mailbot.mail.oauth import OAuthSettings, TokenSource, TokenSources

pytestmark = pytest.mark.servers

# The shared fixtures: a token endpoint and an oauth2 Dovecot per module, a relay
# and a mailbox per test.
tokens = oauthsupport.tokens
oauth_dovecot = oauthsupport.oauth_dovecot
relay = oauthsupport.relay
account = oauthsupport.account

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


def test_microsoft_certificate_credential_signs_in(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    key, thumbprint = tokens.add_microsoft_certificate_app("cert-app", account.username)
    key_file = tmp_path / "app-key.pem"
    key_file.write_text(key)
    oauth2 = {
        "provider": "microsoft",
        "tenant": TENANT,
        "client_id": "cert-app",
        "certificate_key_file": str(key_file),
        "certificate_thumbprint": thumbprint,
        "authority": tokens.authority(TENANT),
        "ca_file": tokens.ca_file,
    }
    config = configure(tmp_path, account, relay, oauth2)
    imap.check_login(imap_settings(config))
    asyncio.run(smtp.SmtpSender(smtp_settings(config)).check_login())
    assert relay.tally["accepted"] == 1
    # A key the app registration does not hold is refused as the grant.
    other, _ = tokens.add_microsoft_certificate_app("cert-app-2", account.username)
    key_file.write_text(other)
    with pytest.raises(GrantError, match="invalid_client: AADSTS700027"):
        imap.check_login(imap_settings(configure(tmp_path, account, relay, oauth2)))


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


def test_smtp_renews_an_expired_token_once_when_the_relay_refuses_it(
    tmp_path: Path, account: ImapAccount, relay: OAuthSmtpSink, tokens: TokenServer
) -> None:
    tokens.add_microsoft_app(APP, SECRET, account.username)
    tokens.lifetime = 2
    config = configure(tmp_path, account, relay, microsoft(tokens))
    settings = smtp_settings(config)
    assert settings.oauth is not None
    source = TokenSource(settings.oauth, monotonic=FrozenMonotonic())
    sender = smtp.SmtpSender(settings, source)
    asyncio.run(sender.check_login())
    time.sleep(3)
    asyncio.run(sender.check_login())
    assert relay.tally == {"accepted": 2, "refused": 1}
    assert source.fetches == 2


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
