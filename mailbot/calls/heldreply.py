"""`held reply`: an officer answers a held email, the answer and the decision in one transaction."""

from __future__ import annotations

from datetime import datetime

from mailbot.calls import door
from mailbot.calls.store import Store
from mailbot.calls.templatevars import message_id
from mailbot.config import Config
from mailbot.errors import MailbotError
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import Officer
from mailbot.rules.loader import Rules
from mailbot.storage import held
from mailbot.storage.db import Sessions, transaction

KIND = "held_reply"


def officer_for(rules: Rules, who: str) -> Officer | None:
    """The officer named by id or by address."""
    wanted = who.strip().lower()
    found = rules.directory.officer(wanted)
    return found or next((o for o in rules.directory.officers if o.email == wanted), None)


def reply(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    held_id: str,
    text: str,
    by: str,
    now: datetime,
) -> str:
    """Send ``text`` to the held email's sender and record it; return who it went to.

    The decision row and the outbox row commit together, and the decision's
    unique key refuses a second answer to the same email, so a rerun (after
    a crash, or by a colleague) sends nothing twice.  Raises MailbotError,
    with nothing recorded, when the email is not waiting, the officer is
    unknown, or the door lets the answer through to nobody.
    """
    officer = officer_for(rules, by)
    if officer is None:
        raise MailbotError(f"--by {by!r} is not an officer in staff.toml")
    if not text.strip():
        raise MailbotError("nothing to send: the reply is empty")
    with transaction(sessions) as session:
        item = held.find(session, held_id)
        if item is None or "@" not in item.sender:
            raise MailbotError(f"no held email {held_id} with a sender to answer is waiting")
        rendered = rules.templates.render(
            KIND,
            {
                "service": {"name": config.service.name, "address": config.service.address},
                "text": text.strip(),
                "officer": {"name": officer.name, "email": officer.email},
            },
        )
        subject = item.subject.strip()
        threading = (item.message_id,) if item.message_id else ()
        out = Outgoing(
            kind=KIND,
            to=(item.sender,),
            cc=(),
            subject=f"Re: {subject}" if subject else rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=message_id(config, f"held:{held_id}", KIND, "held"),
            in_reply_to=item.message_id or None,
            references=threading,
        )
        held.decide(session, held_id, action="replied", by=officer.email, at=now, detail=text)
        prefix, width = rules.policy.references.prefix, rules.policy.references.width
        passed = door.send(Store(session, prefix, width), config, rules, out, now)
        if passed.out is None:
            # Raising rolls the decision back: the email stays in the queue.
            raise MailbotError(f"not sent: {'; '.join(passed.why)}")
    return item.sender
