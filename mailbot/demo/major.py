"""The demo's last act: a major incident declared by email, broadcast, reported, resolved."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.calls import listing
from mailbot.config import Config
from mailbot.daemon.service import Daemon
from mailbot.demo.imapserver import DemoImapServer
from mailbot.demo.smtpsink import SinkServer
from mailbot.rules.loader import Rules
from mailbot.storage.db import Sessions

ZONE = ZoneInfo("Europe/London")
SUPPORT = "ictsupport@westshire.gov.uk"
Say = Callable[..., None]
# How many numbered scenes this module shows, for the scene after it.
SCENES = 4


def _email(
    sender: str, subject: str, body: str, at: datetime, mid: str, reply_to: str = ""
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = f"<{mid}@demo.example>"
    if reply_to:
        msg["In-Reply-To"] = reply_to
    msg.set_content(body)
    return msg.as_bytes()


def _frozen(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def _team_notice(sessions: Sessions, ref: str) -> str:
    record = listing.show_call(sessions, ref)
    notices = [
        m["message_id"]
        for m in (record["messages"] if record else [])
        if m["direction"] == "out" and "network-team@westshire.gov.uk" in m["to"]
    ]
    return str(notices[0]) if notices else ""


def _summarise(sink: SinkServer, seen: int, say: Say) -> int:
    """One line per kind of email sent, with its first recipient and its first lines."""
    kinds: dict[str, list[email.message.Message]] = {}
    for received in sink.messages[seen:]:
        parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
        kinds.setdefault(str(parsed["X-Mailbot-Id"]), []).append(parsed)
    for kind, emails in kinds.items():
        first = emails[0]
        say(f"-> mailbot sent {len(emails)} x {kind}: {first['Subject']}", 4)
        body = first.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
        text = body.get_content() if body is not None else ""
        for line in text.strip().splitlines()[:4]:
            say(f"   | {line}", 4)
    return len(sink.messages)


async def scenes(
    config: Config,
    rules: Rules,
    sessions: Sessions,
    imap: DemoImapServer,
    sink: SinkServer,
    seen: int,
    number: int,
    say: Say,
) -> int:
    """Run the major-incident scenes; return how many emails the sink holds afterwards."""
    brookfield = "Claire Dunn <head@brookfield-high.westshire.sch.uk>"
    riverside = "Aisha Rahman <a.rahman@riverside-academy.westshire.sch.uk>"
    raj = "Raj Patel <raj.patel@westshire.gov.uk>"
    thread = "RE: [ICT-000004] Brookfield High School: Internet down"
    # Each scene: title, when, who writes, subject, words, and whether it
    # answers the team's notice about ICT-000004.
    steps = [
        ("Brookfield High reports that its internet is down", (30, 9, 25), brookfield,
         "Internet down", "Hello,\nOur internet is down: nothing loads anywhere in school.\n"
         "Claire Dunn", False),
        ("Raj replies to the team's notice: '#major declare ...'", (30, 9, 35), raj, thread,
         "#major declare Internet service down across all schools\n#major keywords internet\n"
         "\nThe council's internet link failed at 09:20. We are working with the provider.\n",
         True),
        ("Riverside Academy writes about the same thing", (30, 9, 50), riverside,
         "No internet", "The internet has stopped working in every classroom.\nAisha", False),
        ("Raj resolves the incident: '#major resolve ...'", (30, 11, 45), raj, thread,
         "#major resolve The fibre was repaired at 11:40; every school is back online.\n", True),
    ]  # fmt: skip
    for n, (title, (day, hour, minute), sender, subject, words, answers) in enumerate(steps):
        at = datetime(2026, 11, day, hour, minute, tzinfo=ZONE)
        number += 1
        say()
        say(f"{number}. {at:%a %d %b %H:%M}  {title}")
        notice = _team_notice(sessions, "ICT-000004") if answers else ""
        await imap.deliver(_email(sender, subject, words, at, f"major-{n}", notice))
        daemon = Daemon(config=config, rules=rules, sessions=sessions, clock=_frozen(at))
        report, _sent, _tick = await daemon.run_once()
        for o in report.outcomes:
            say(f"mailbot: {o.action.replace('_', ' ')} as {o.ref}: {o.reason}", 4)
        seen = _summarise(sink, seen, say)
        await asyncio.sleep(0)
    page = config.status_page.dir
    if page is not None and (Path(page) / "index.html").exists():
        size = (Path(page) / "index.html").stat().st_size
        say()
        say(f"mailbot kept the status page up to date: index.html ({size:,} bytes) and feed.atom")
        say(f"in {page}, ready for any web server to serve.")
    return seen
