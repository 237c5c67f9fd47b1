"""`mailbot demo`: the whole job on loopback servers, with a readable account of each step."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import mailbot
from mailbot.calls import listing
from mailbot.config import Config, config_from_dict
from mailbot.daemon.service import Daemon
from mailbot.demo import major, planned, rating
from mailbot.demo.imapserver import DemoImapServer
from mailbot.demo.smtpsink import SinkServer
from mailbot.rules.loader import Rules, load_rules
from mailbot.storage.db import Sessions, make_engine, make_sessions, upgrade

SUPPORT = "ictsupport@westshire.gov.uk"
MAIL = Path(__file__).resolve().parent / "mail"
ZONE = ZoneInfo("Europe/London")


def sample_rules_dir() -> Path:
    """The shipped sample rules: inside the installed package, or the checkout's rules/."""
    package = Path(mailbot.__file__).resolve().parent
    installed = package / "sample_rules"
    return installed if installed.is_dir() else package.parent / "rules"


@dataclass(frozen=True)
class Step:
    """One scene of the demo: what arrives, when, and what to point out."""

    title: str
    mail: str
    at: datetime


STEPS = (
    Step(
        "A headteacher reports slow internet",
        "01-new-request-internet-slow.eml",
        datetime(2026, 11, 23, 9, 5, tzinfo=ZONE),
    ),
    Step(
        "An ICT co-ordinator sends a password by mistake",
        "02-new-request-with-password.eml",
        datetime(2026, 11, 23, 9, 40, tzinfo=ZONE),
    ),
    Step(
        "The headteacher replies from Outlook, quoting the confirmation",
        "03-reply-from-outlook.eml",
        datetime(2026, 11, 23, 10, 15, tzinfo=ZONE),
    ),
    Step(
        "An out-of-office answers the confirmation",
        "04-out-of-office.eml",
        datetime(2026, 11, 23, 10, 20, tzinfo=ZONE),
    ),
    Step(
        "A mail server bounces a message",
        "05-bounce.eml",
        datetime(2026, 11, 23, 10, 30, tzinfo=ZONE),
    ),
    Step(
        "Someone who is not at a school writes in",
        "06-unknown-sender.eml",
        datetime(2026, 11, 23, 11, 0, tzinfo=ZONE),
    ),
)


def _frozen(at: datetime) -> Callable[[], datetime]:
    """The demo's fast clock: each step happens at its own instant."""
    return lambda: at


def _say(text: str = "", indent: int = 0) -> None:
    print(" " * indent + text, flush=True)


def _large_message(at: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ben Lowe <b.lowe@brookfield-high.westshire.sch.uk>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Photos of the network cabinet"
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = "<cabinet-photos.1@brookfield-high.westshire.sch.uk>"
    msg.set_content("Photos of the cabinet attached, as promised.")
    msg.add_attachment(b"\0" * 16_500_000, maintype="image", subtype="jpeg", filename="cab.jpg")
    return msg.as_bytes()


def _evening_message(at: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Grace Fenton <head@st-marys-ce.westshire.sch.uk>"
    msg["To"] = SUPPORT
    msg["Subject"] = "Cannot send email from the office PC"
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = "<evening.1@st-marys-ce.westshire.sch.uk>"
    msg.set_content(
        "Hello, since about 4pm we are unable to send emails from the office PC. Outlook says "
        "'Cannot connect to server'. It affects the two office staff.\nGrace"
    )
    return msg.as_bytes()


def _describe_sent(sink: SinkServer, seen: int) -> int:
    for received in sink.messages[seen:]:
        parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
        _say(f"-> mailbot sent: {parsed['Subject']}", 4)
        _say(f"   to {', '.join(received.rcpt_tos)}", 4)
        body = parsed.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        for line in text.strip().splitlines()[:18]:
            _say(f"   | {line}", 4)
    return len(sink.messages)


def _staff_reply(sessions: Sessions, at: datetime) -> bytes:
    """Sam's reply to the team's new-call notice: commands on top, words for the school below."""
    record = listing.show_call(sessions, "ICT-000001")
    notices = [
        m["message_id"]
        for m in (record["messages"] if record else [])
        if m["direction"] == "out" and "network-team@westshire.gov.uk" in m["to"]
    ]
    msg = EmailMessage()
    msg["From"] = "Sam Okafor <sam.okafor@westshire.gov.uk>"
    msg["To"] = SUPPORT
    msg["Subject"] = "RE: [ICT-000001] Oakfield Primary School: Internet very slow in the ICT suite"
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = "<sam-solves.1@westshire.gov.uk>"
    if notices:
        msg["In-Reply-To"] = notices[0]
    msg.set_content(
        "#take\n#solved\n\n"
        "We found a faulty switch in the ICT suite's cabinet and replaced it.\n\nSam\n"
    )
    return msg.as_bytes()


async def _clock_scenes(
    config: Config,
    rules: Rules,
    sessions: Sessions,
    imap: DemoImapServer,
    sink: SinkServer,
    seen: int,
    speed: float,
) -> int:
    """Move the clock on: an escalation, solving by email, and the automatic closure."""
    scenes: tuple[tuple[str, datetime, bool], ...] = (
        (
            "65% of ICT-000001's fix time has passed with nobody assigned",
            datetime(2026, 11, 24, 11, 47, tzinfo=ZONE),
            False,
        ),
        (
            "Sam replies to the team's notice: '#take', '#solved' and a word for the school",
            datetime(2026, 11, 24, 12, 0, tzinfo=ZONE),
            True,
        ),
        (
            "Three support days later, no reply from the school",
            datetime(2026, 11, 27, 12, 0, tzinfo=ZONE),
            False,
        ),
    )
    number = len(STEPS) + 2
    for title, at, solve in scenes:
        number += 1
        _say()
        _say(f"{number}. {at:%a %d %b %H:%M}  {title}")
        if solve:
            await imap.deliver(_staff_reply(sessions, at))
        daemon = Daemon(config=config, rules=rules, sessions=sessions, clock=_frozen(at))
        report, _sent, tick = await daemon.run_once()
        for o in report.outcomes:
            _say(f"mailbot: {o.action.replace('_', ' ')} on {o.ref}: {o.reason}", 4)
        for ref, level in tick.escalated:
            _say(f"mailbot: {ref} reached escalation level {level}", 4)
        for ref in tick.closed:
            _say(f"mailbot: {ref} closed itself and the school is told", 4)
        seen = _describe_sent(sink, seen)
        await asyncio.sleep(0.2 * speed)
    return seen


async def run_demo(speed: float = 1.0) -> int:
    """Run the demonstration; return the process exit code."""
    workdir = Path(tempfile.mkdtemp(prefix="mailbot-demo-"))
    imap = DemoImapServer(username=SUPPORT, password="demo")
    sink = SinkServer()
    await imap.start()
    await sink.start()
    try:
        config = config_from_dict(
            {
                "service": {
                    "address": SUPPORT,
                    "name": "Westshire Schools ICT Support",
                    # The demo's IMAP server stands in for the council's
                    # receiving server and stamps its results on delivery.
                    "authserv_id": imap.authserv_id,
                },
                "imap": {
                    "host": imap.host,
                    "port": imap.port,
                    "security": "none",
                    "username": SUPPORT,
                    "password": "demo",
                    "batch_size": 50,
                },
                "smtp": {"host": sink.host, "port": sink.port, "security": "none"},
                "database": {"url": f"sqlite:///{workdir / 'demo.db'}"},
                "rules": {"dir": str(sample_rules_dir())},
                "status_page": {"dir": str(workdir / "status")},
            },
            base=workdir,
            source="demo",
        )
        rules = load_rules(config.rules.dir)
        upgrade(config.database.url)
        sessions = make_sessions(make_engine(config.database.url))
        _say("mailbot demo: a support mailbox for Westshire Council's schools")
        _say(f"  IMAP server (pymap, in memory) on {imap.host}:{imap.port}")
        _say(f"  SMTP server (aiosmtpd) on {sink.host}:{sink.port}")
        _say(f"  database {workdir / 'demo.db'}, rules {config.rules.dir}")
        confirmation_id = ""
        seen = 0
        extra = (
            Step(
                "A school emails at 7pm, outside support hours",
                "",
                datetime(2026, 11, 23, 19, 0, tzinfo=ZONE),
            ),
            Step(
                "A message with a 16.5 MB photo arrives (the limit is 15 MB)",
                "",
                datetime(2026, 11, 24, 9, 0, tzinfo=ZONE),
            ),
        )
        for number, step in enumerate((*STEPS, *extra), start=1):
            _say()
            _say(f"{number}. {step.at:%a %d %b %H:%M}  {step.title}")
            if step.mail:
                raw = (MAIL / step.mail).read_bytes()
                raw = raw.replace(b"<CONFIRMATION-ID>", confirmation_id.encode() or b"<none@x>")
            elif "outside" in step.title:
                raw = _evening_message(step.at)
            else:
                raw = _large_message(step.at)
            await imap.deliver(raw)
            daemon = Daemon(config=config, rules=rules, sessions=sessions, clock=_frozen(step.at))
            report, _sent, _tick = await daemon.run_once()
            for o in report.outcomes:
                ref = f" as {o.ref}" if o.ref else ""
                _say(f"mailbot: {o.action.replace('_', ' ')}{ref}: {o.reason}", 4)
            if not confirmation_id:
                record = listing.show_call(sessions, "ICT-000001")
                if record:
                    outs = [m for m in record["messages"] if m["direction"] == "out"]
                    confirmation_id = outs[0]["message_id"] if outs else ""
            if len(sink.messages) == seen:
                _say("-> nothing sent", 4)
            seen = _describe_sent(sink, seen)
            await asyncio.sleep(0.2 * speed)
        seen = await _clock_scenes(config, rules, sessions, imap, sink, seen, speed)
        # Each further act is a module of its own, numbered on from the last.
        number = len(STEPS) + 6
        seen = await rating.scene(config, rules, sessions, imap, sink, seen, number, _say)
        seen = await major.scenes(config, rules, sessions, imap, sink, seen, number, _say)
        # Planned maintenance, announced on the incident's thread once it is over.
        number += major.SCENES
        seen = await planned.scenes(config, rules, sessions, imap, sink, seen, number, _say)
        _say()
        _say("The calls, as `mailbot calls list` shows them:")
        for row in listing.list_calls(sessions):
            fix = row["fix_due_at"]
            due = f"{datetime.fromisoformat(fix).astimezone(ZONE):%a %d %b %H:%M}" if fix else "-"
            _say(
                f"{row['ref']}  {row['priority']}  {row['school']:<20} fix by {due}  "
                f"{row['subject'][:40]}",
                2,
            )
        record = listing.show_call(sessions, "ICT-000001")
        if record:
            _say()
            _say("ICT-000001's thread, as `mailbot calls show ICT-000001` shows it:")
            for m in record["messages"]:
                first = (m["text"].strip().splitlines() or [""])[0]
                _say(f"{m['direction']:>3} {m['from']}: {first[:70]}", 2)
        _say()
        _say("Done. Every email above went through the same pipeline the daemon runs.")
        return 0
    finally:
        await sink.stop()
        await imap.stop()
        shutil.rmtree(workdir, ignore_errors=True)
