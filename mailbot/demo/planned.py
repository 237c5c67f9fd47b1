"""The demo's planned-maintenance scene: work announced by email, then reminded and started."""

from __future__ import annotations

import asyncio
from datetime import datetime

from mailbot.config import Config
from mailbot.daemon.service import Daemon
from mailbot.demo.imapserver import DemoImapServer
from mailbot.demo.major import ZONE, Say, _email, _frozen, _summarise, _team_notice
from mailbot.demo.smtpsink import SinkServer
from mailbot.rules.loader import Rules
from mailbot.storage.db import Sessions

# How many numbered scenes this module shows, for the scene after it.
SCENES = 3


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
    """Run the planned-maintenance scenes; return how many emails the sink holds afterwards."""
    raj = "Raj Patel <raj.patel@westshire.gov.uk>"
    thread = "RE: [ICT-000004] Brookfield High School: Internet down"
    words = (
        "#planned Firewall upgrade; from 2026-12-05 18:00; to 2026-12-05 21:00; "
        "services internet, web filtering\n\n"
        "We are replacing the council's firewall. The internet and web filtering "
        "will be unavailable for up to three hours on Saturday evening.\n"
    )
    # The announcement comes by email; the reminder and the start notice are
    # the scheduler's own, so those scenes only move the clock on.
    steps = [
        ("Raj announces planned work: '#planned Firewall upgrade; from ...'", (30, 14, 0), True),
        ("The day before, mailbot reminds the lists", (4, 18, 0), False),
        ("The work starts: mailbot says so", (5, 18, 0), False),
    ]
    for title, (day, hour, minute), writes in steps:
        month = 11 if day == 30 else 12
        at = datetime(2026, month, day, hour, minute, tzinfo=ZONE)
        number += 1
        say()
        say(f"{number}. {at:%a %d %b %H:%M}  {title}")
        if writes:
            notice = _team_notice(sessions, "ICT-000004")
            await imap.deliver(_email(raj, thread, words, at, "planned-1", notice))
        daemon = Daemon(config=config, rules=rules, sessions=sessions, clock=_frozen(at))
        await daemon.run_once()
        seen = _summarise(sink, seen, say)
        await asyncio.sleep(0)
    return seen
