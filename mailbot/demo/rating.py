"""The demo's satisfaction scene: the headteacher rates a closed call by replying to its closure."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
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
HEAD = "Helen Marsh <head@oakfield-primary.westshire.sch.uk>"
Say = Callable[..., None]


def _closure_id(sink: SinkServer) -> str:
    """The Message-ID of the closure notice as the headteacher's mailbox received it."""
    for received in sink.messages:
        parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
        if parsed["X-Mailbot-Id"] == "closure":
            return str(parsed["Message-ID"])
    return ""


def _reply(closure_id: str, at: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = HEAD
    msg["To"] = SUPPORT
    msg["Subject"] = "RE: [ICT-000001] Closed: Internet very slow in the ICT suite"
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = "<rating.1@oakfield-primary.westshire.sch.uk>"
    if closure_id:
        msg["In-Reply-To"] = closure_id
        msg["References"] = closure_id
    msg.set_content("2 - fixed in the end, but nobody told us the engineer was coming.\n\nHelen\n")
    # Long Message-IDs must not be folded or encoded: a mail client keeps them whole.
    return msg.as_bytes(policy=email.policy.SMTP.clone(max_line_length=None))


async def scene(
    config: Config,
    rules: Rules,
    sessions: Sessions,
    imap: DemoImapServer,
    sink: SinkServer,
    seen: int,
    number: int,
    say: Say,
) -> int:
    """The rating scene; return how many emails the sink holds afterwards."""
    at = datetime(2026, 11, 27, 14, 0, tzinfo=ZONE)
    say()
    say(f"{number}. {at:%a %d %b %H:%M}  The headteacher rates ICT-000001 by replying '2 - ...'")
    await imap.deliver(_reply(_closure_id(sink), at))
    daemon = Daemon(config=config, rules=rules, sessions=sessions, clock=lambda: at)
    report, _sent, _tick = await daemon.run_once()
    for o in report.outcomes:
        say(f"mailbot: {o.action.replace('_', ' ')} on {o.ref}: {o.reason}", 4)
    for received in sink.messages[seen:]:
        parsed = email.message_from_bytes(received.raw, policy=email.policy.default)
        say(f"-> mailbot sent: {parsed['Subject']}", 4)
        say(f"   to {', '.join(received.rcpt_tos)}", 4)
        body = parsed.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        for line in text.strip().splitlines()[:3]:
            say(f"   | {line}", 4)
    record = listing.show_call(sessions, "ICT-000001")
    rated = record["rating"] if record else None
    if rated:
        say(
            f"`mailbot calls show ICT-000001`: status {record['status'] if record else ''}, "
            f"rating {rated['score']} of {rules.policy.satisfaction.scale}: {rated['comment']}",
            4,
        )
    return len(sink.messages)
