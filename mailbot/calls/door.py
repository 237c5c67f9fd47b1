"""The one door every outgoing email passes: the loop guard and caps, the record, the outbox row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mailbot.calls.store import Store
from mailbot.config import Config
from mailbot.mail.mime import build
from mailbot.mail.mimebatch import Batch
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import SenderKind
from mailbot.rules.loader import Rules
from mailbot.storage import replytoken, verp

# The kind of a warning about unverified staff mail: it goes to a staff
# address whatever the sender wrote, so it is capped like mail to anyone.
CAPPED_STAFF_KINDS = frozenset({"unverified_staff"})
# An officer's own words to a school (relayed from a reply, or `calls reply`),
# or to the sender of a held email (`held reply`),
# answer no incoming email, so they cannot keep a loop going: they are
# counted, and a blocked address still gets nothing, but no hourly or daily
# cap silences an officer writing to a school several times in an hour.
OFFICERS_WORDS = frozenset({"staff_reply", "held_reply"})


@dataclass(frozen=True)
class Passed:
    """What the door did with one email: what was queued (None if nothing) and why not all."""

    kind: str
    out: Outgoing | None
    dropped: tuple[str, ...] = ()
    why: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """One line for the pipeline's notes, empty when everyone was written to."""
        if not self.why:
            return ""
        done = "left off" if self.out else "not sent"
        return f"{self.kind} {done}: " + "; ".join(self.why)


def _refusal(store: Store, rules: Rules, address: str, kind: str, now: datetime) -> str:
    """Why ``address`` may not receive this email now, or "" when it may."""
    staff = rules.directory.is_staff_address(address)
    if staff and kind not in CAPPED_STAFF_KINDS:
        # Staff are exempt: a busy team may get many notices an hour, and
        # their own automatic replies are screened out before they count.
        # Nor are they ever blocked: that would silence the team's own
        # notices, and a loop through a staff mailbox is the team's to see.
        # (Skipping the lookups also keeps a scheduler tick's notices cheap.)
        return ""
    limits = rules.policy.limits
    hour_ago = now - timedelta(hours=1)
    if staff:
        if store.is_blocked(address):
            return f"{address} is blocked as a mail loop"
        # The warning that mail in a staff address's name failed authentication
        # goes there whatever the forger wrote, so it is capped, at one an hour
        # counted among warnings alone: receipts the officer had earlier in the
        # hour must not swallow the warning that someone is forging them.
        if store.auto_replies_since(address, hour_ago, kind=kind):
            return f"{address} was already warned this hour"
        return ""
    # The daily count starts afresh when a human clears a block, so the
    # address is not blocked again at once by the replies before it.  The
    # block, the last clearing and both counts come in one statement; the
    # daily count is taken again only when a block was cleared within the day.
    since = now - timedelta(days=1)
    facts = store.guard_facts(address, day=since, hour=hour_ago)
    if facts.blocked:
        return f"{address} is blocked as a mail loop"
    if kind in OFFICERS_WORDS:
        return ""
    daily_count = facts.daily
    cleared = facts.cleared
    if cleared is not None and cleared.replace(tzinfo=now.tzinfo) > since:
        since = cleared.replace(tzinfo=now.tzinfo)
        daily_count = store.auto_replies_since(address, since, direct=True)
    daily = limits.auto_replies_per_address_per_day
    # Only mail addressed To it counts: a school's contact copied on many
    # calls (or on a loop with another address) is not looping itself.
    if daily_count >= daily:
        store.block(address, at=now, reason=f"{daily} automatic replies within a day")
        return f"{address} reached the daily limit and is now blocked"
    if facts.hourly >= limits.auto_replies_per_sender_per_hour:
        return f"{address} reached the hourly limit"
    if _stranger(rules, address):
        domain = address.rsplit("@", 1)[-1]
        per_domain = limits.stranger_replies_per_domain_per_hour
        if store.stranger_replies_since(hour_ago, domain) >= per_domain:
            return f"{address}: the hourly limit of replies to strangers at {domain}"
        if store.stranger_replies_since(hour_ago) >= limits.stranger_replies_per_hour:
            return f"{address}: the hourly limit of replies to strangers"
    return ""


def _stranger(rules: Rules, address: str) -> bool:
    """Whether ``address`` is neither staff (officer or team) nor at a school."""
    directory = rules.directory
    if directory.is_staff_address(address):
        return False
    return directory.identify(address).kind is SenderKind.UNKNOWN


def send(
    store: Store,
    config: Config,
    rules: Rules,
    out: Outgoing,
    now: datetime,
    *,
    raw: bytes | None = None,
) -> Passed:
    """Pass ``out`` through the guard and, if anyone is left to write to, into the outbox.

    Every recipient, To and Cc alike, is checked on its own: a blocked address
    gets nothing, and an address over the hourly cap, the daily cap (which
    blocks it) or the caps on strangers is left off.  With no To left the
    email is not sent at all.  Each recipient is then counted.  ``raw`` is an
    email already built (reports with images).  Broadcasts come in through
    ``send_broadcast`` instead.
    """
    kept_to: list[str] = []
    kept_cc: list[str] = []
    why: list[str] = []
    for field, kept in ((out.to, kept_to), (out.cc, kept_cc)):
        for address in field:
            refused = _refusal(store, rules, address, out.kind, now)
            if refused:
                why.append(refused)
            else:
                kept.append(address)
    dropped = tuple(a for a in (*out.to, *out.cc) if a not in kept_to and a not in kept_cc)
    if not kept_to:
        if out.call_id is not None:
            store.add_event(
                out.call_id, at=now, actor="mailbot", kind="reply_suppressed", detail=out.kind
            )
        return Passed(out.kind, None, dropped, tuple(why) or ("no recipient",))
    sent = replace(out, to=tuple(kept_to), cc=tuple(kept_cc))
    service = config.service
    # An email that asks a person for a decision, or goes to the school about
    # its call, gets its reply token here (replytoken.py), so that no path can
    # send one without it; a request to several people becomes one each.  A
    # prebuilt email (a report with images) asks no one anything.
    pieces = [sent] if raw is not None else list(replytoken.personalise(store.session, sent, now))
    for piece in pieces:
        # A prebuilt email keeps its headers; only its envelope loses the
        # recipients the guard left off, who then receive nothing.
        body = (
            raw
            if raw is not None
            else build(piece, from_name=service.name, from_addr=service.address, now=now)
        )
        store.enqueue(
            now=now,
            message_id=piece.message_id,
            call_id=piece.call_id,
            kind=piece.kind,
            mail_from=service.address,
            recipients=(*piece.to, *piece.cc),
            # Each email's own envelope return path (VERP), so that a bounce
            # of it is known for certain.
            return_path=verp.mail_from(store.session, service, piece.message_id, now),
            raw=body,
            to=piece.to,
            cc=piece.cc,
            subject=piece.subject,
            text=piece.text,
            in_reply_to=piece.in_reply_to,
            references=piece.references,
        )
    recipients = [
        (address, _stranger(rules, address), address not in sent.to)
        for address in dict.fromkeys((*sent.to, *sent.cc))
    ]
    store.record_auto_replies(sent.kind, now, recipients, domain=sent.about)
    return Passed(sent.kind, sent, dropped, tuple(why))


def send_broadcast(
    store: Store, config: Config, batch: Sequence[tuple[Outgoing, str]], now: datetime
) -> set[str]:
    """Queue a batch of broadcast emails (each with its route); return the Message-IDs kept back.

    Broadcasts are deliberate notices to known contacts on the distribution
    lists: they are neither capped nor counted (a major incident must reach
    every school, and counting it would push busy contacts towards the daily
    block).  A blocked address still gets nothing, as from every other door
    user, since writing to a loop keeps it going.  The batch goes in as one
    insert, which keeps a broadcast to hundreds of schools cheap.
    """
    blocked = store.blocked_among(a for out, _route in batch for a in out.to)
    service = config.service
    # The batch's emails share a few bodies: each is encoded once (mimebatch.py).
    mime = Batch(from_name=service.name, from_addr=service.address, now=now)
    rows = []
    kept_back: set[str] = set()
    for out, route in batch:
        to = tuple(a for a in out.to if a.lower() not in blocked)
        if not to:
            kept_back.add(out.message_id)
            continue
        sent = replace(out, to=to)
        rows.append(
            {
                "message_id": sent.message_id,
                "call_id": None,
                "kind": sent.kind,
                "mail_from": verp.mail_from(store.session, service, sent.message_id, now),
                "recipients": json.dumps(list(to)),
                "raw": mime.build(sent),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "route": route,
                "last_error": "",
            }
        )
    store.enqueue_rows(rows)
    return kept_back
