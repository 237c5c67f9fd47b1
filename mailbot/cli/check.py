"""`mailbot check`: test the configuration end to end, like `postfix check` or `nginx -t`."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mailbot.cli.context import clock_of, config_of
from mailbot.config import Config, ServerConfig
from mailbot.daemon.connections import imap_settings, smtp_settings
from mailbot.errors import MailbotError, RulesError
from mailbot.mail.imap import Mailbox
from mailbot.mail.mime import build
from mailbot.mail.outgoing import Outgoing
from mailbot.mail.smtp import SmtpSender
from mailbot.rules.loader import load_rules
from mailbot.storage.db import describe, make_engine
from mailbot.storage.probe import probe

# What the test email says, so whoever receives it knows what it is.
_TEST_TEXT = (
    "This is a test email sent by `mailbot check --send-test` to confirm that "
    "{name} can send mail through {host}:{port}.\n\n"
    "No call was logged and nothing needs doing; you can delete it.\n"
)


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, whether it passed, and why in words."""

    what: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what:14} {self.detail}"


def _secret(what: str, section: ServerConfig) -> Finding | None:
    """A failure when the section's password cannot be read; None when it can."""
    try:
        section.secret()
    except MailbotError as exc:
        return Finding(what, False, str(exc))
    return None


def check_imap(config: Config) -> Finding:
    """Log in with the daemon's own connect, which also makes any missing folder."""
    c = config.imap
    failed = _secret("IMAP", c)
    if failed:
        return failed
    try:
        with Mailbox(imap_settings(config)) as mailbox:
            waiting = mailbox.count(c.folder)
            folders = ", ".join((c.folder, c.processed_folder, c.failed_folder))
    except MailbotError as exc:
        return Finding("IMAP", False, str(exc))
    return Finding(
        "IMAP",
        True,
        f"logged in to {c.host}:{c.port} as {c.username}; folders {folders} present "
        f"({waiting} message(s) waiting)",
    )


def check_smtp(config: Config, *, fallback: bool = False) -> Finding:
    """Connect and log in with the sender's own connect, then leave without sending."""
    what = "fallback SMTP" if fallback else "SMTP"
    c = config.fallback_smtp if fallback and config.fallback_smtp else config.smtp
    failed = _secret(what, c)
    if failed:
        return failed
    sender = SmtpSender(smtp_settings(config, fallback=fallback))
    try:
        utf8 = asyncio.run(sender.check_login())
    except MailbotError as exc:
        return Finding(what, False, str(exc))
    login = f" as {c.username}" if c.username else " (no login configured)"
    # Not a failure: most mail is ASCII, but the administrator should know
    # before the first internationalised address is refused.
    offers = (
        "offers SMTPUTF8"
        if utf8
        else "no SMTPUTF8, so mail to internationalised addresses will fail"
    )
    return Finding(what, True, f"connected to {c.host}:{c.port}{login}; {offers}")


def check_rules(config: Config) -> Finding:
    """Load every rule file and render every template, as the daemon does at start."""
    try:
        rules = load_rules(config.rules.dir)
    except RulesError as exc:
        problems = "; ".join(exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        return Finding("rules", False, f"rules in {config.rules.dir}: {problems}{more}")
    d = rules.directory
    return Finding(
        "rules",
        True,
        f"rules in {config.rules.dir} are valid ({len(d.schools)} schools, "
        f"{len(d.officers)} officers); all templates render",
    )


def check_database(config: Config) -> Finding:
    """Reachable, at the bundled migrations' head, and writable by this user."""
    url = config.database.url
    where = describe(url)
    try:
        engine = make_engine(url)
    except MailbotError as exc:
        return Finding("database", False, str(exc))
    try:
        found = probe(engine, url)
    finally:
        engine.dispose()
    if found.connect_error:
        return Finding("database", False, f"cannot reach {where}: {found.connect_error}")
    if not found.initialised:
        return Finding("database", False, f"{where} is not initialised: run mailbot db upgrade")
    if not found.up_to_date:
        return Finding(
            "database",
            False,
            f"{where} is at revision {found.current}, this version needs {found.head}: "
            "run mailbot db upgrade",
        )
    if found.write_error:
        return Finding(
            "database",
            False,
            f"{where} cannot be written: {found.write_error}; give the service's user write access",
        )
    return Finding("database", True, f"{where} is reachable, writable, at revision {found.head}")


def check_status_page(config: Config) -> Finding:
    """The status page's folder exists (or can be made) and takes a new file."""
    folder = config.status_page.dir
    if folder is None:
        return Finding("status page", True, "not configured ([status_page] dir unset)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # The page is replaced through a temporary file in the same folder,
        # so that is what must work.
        fd, name = tempfile.mkstemp(dir=folder, prefix=".mailbot-check-")
        os.close(fd)
        Path(name).unlink()
    except OSError as exc:
        return Finding(
            "status page",
            False,
            f"cannot write in {folder}: {exc.strerror or exc}; create it and make it "
            "writable by the service's user (ReadWritePaths= in the unit)",
        )
    return Finding("status page", True, f"{folder} is writable")


def send_test(config: Config, address: str, now: datetime) -> Finding:
    """Send one email marked as a test straight through the SMTP module.

    It does not go through the outbox: the point is to see, now, whether the
    relay takes mail, with the daemon stopped and whatever the database's
    state.  It is addressed only to the administrator who asked for it and is
    marked automatic (Auto-Submitted, X-Mailbot-Id: test), so no responder
    answers it and mailbot itself ignores it if it comes back to the mailbox.
    """
    c, service = config.smtp, config.service
    out = Outgoing(
        kind="test",
        to=(address,),
        cc=(),
        subject=f"Test email from {service.name} (mailbot check)",
        text=_TEST_TEXT.format(name=service.name, host=c.host, port=c.port),
        html="<p>"
        + _TEST_TEXT.format(name=service.name, host=c.host, port=c.port).replace("\n\n", "</p><p>")
        + "</p>",
        message_id=f"<check.{secrets.token_hex(10)}@{service.id_domain}>",
    )
    raw = build(out, from_name=service.name, from_addr=service.address, now=now)

    async def deliver() -> None:
        sender = SmtpSender(smtp_settings(config))
        try:
            await sender.send(service.address, [address], raw)
        finally:
            await sender.close()

    try:
        asyncio.run(deliver())
    except MailbotError as exc:
        return Finding("test email", False, f"not sent to {address}: {exc}")
    return Finding("test email", True, f"sent to {address} ({out.message_id})")


def run(
    args: argparse.Namespace,
    config: Config,
    now: Callable[[], datetime],
    out: Callable[[str], None],
) -> int:
    """Run every check, print one line each, and return 1 if any failed."""
    checks: list[Callable[[], Finding]] = [
        lambda: check_imap(config),
        lambda: check_smtp(config),
    ]
    if config.fallback_smtp:
        checks.append(lambda: check_smtp(config, fallback=True))
    checks += [
        lambda: check_rules(config),
        lambda: check_database(config),
        lambda: check_status_page(config),
    ]
    if args.send_test:
        checks.append(lambda: send_test(config, args.send_test, now()))
    failures = 0
    for check in checks:
        finding = check()
        failures += not finding.ok
        out(finding.line())
    out(
        "configuration OK" if not failures else f"{failures} check(s) failed",
    )
    return 0 if not failures else 1


def command(args: argparse.Namespace) -> int:
    """`mailbot check [--send-test ADDRESS]`: one line per check."""
    config = config_of(args)
    print(f"checking {Path(args.config).resolve()}")
    return run(args, config, clock_of(args), print)
