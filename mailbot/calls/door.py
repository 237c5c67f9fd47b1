"""The one door every outgoing email passes: the loop guard and caps, the record, the outbox row."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from mailbot.calls.store import Store
from mailbot.config import Config
from mailbot.mail.mime import build
from mailbot.mail.mimebatch import Batch
from mailbot.mail.outgoing import Outgoing
from mailbot.rules.directory import SenderKind
from mailbot.rules.loader import Rules
from mailbot.storage import replytoken, verp
from mailbot.storage.loopguard import GuardFacts, auto_reply_rows
from mailbot.storage.outbox import outbox_rows

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


def _exempt(rules: Rules, address: str, kind: str) -> bool:
    """Whether the guard lets ``address`` have this email without looking anything up."""
    return kind not in CAPPED_STAFF_KINDS and rules.directory.is_staff_address(address)


def _refusal(
    store: Store,
    rules: Rules,
    address: str,
    kind: str,
    now: datetime,
    read: dict[str, GuardFacts],
) -> str:
    """Why ``address`` may not receive this email now, or "" when it may.

    ``read`` holds the guard's facts of addresses of this email read ahead in
    one statement; each is used once, and all are dropped when this blocks
    an address (a later one may be the same address in other letters).
    """
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
    facts = read.pop(address, None) or store.guard_facts(address, day=since, hour=hour_ago)
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
        read.clear()
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


class _Queue:
    """What the door let through and has yet to write: written together, in order, at the end.

    An email stage passes its emails (a confirmation, a notice to the team)
    through together, and their outbox rows, copies and counts then go in
    with one statement per table instead of one per email.  Nothing the door
    reads of a later email depends on the outbox rows or copies; the counts
    do, so they are written first whenever a later email's guard reads them.
    """

    def __init__(self) -> None:
        self.emails: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.counts: list[dict[str, object]] = []

    def write_counts(self, store: Store) -> None:
        """Write the counts held so far."""
        store.add_auto_reply_rows(self.counts)
        self.counts = []

    def write(self, store: Store) -> None:
        """Write everything held: the outbox rows, their copies, then the counts."""
        store.enqueue_built(self.emails)
        self.emails = []
        self.write_counts(store)


# The queue of each store inside ``together``; a store not in it writes at once.
_HELD: weakref.WeakKeyDictionary[Store, _Queue] = weakref.WeakKeyDictionary()


@contextmanager
def together(store: Store) -> Iterator[None]:
    """Within it, ``send`` holds each email's rows and writes them all when it ends.

    An email stage sends its emails (a confirmation, the team's notice)
    inside it, so that their rows go in with one statement per table.  They
    are written when the block ends normally, in the caller's transaction; an
    exception leaves them unwritten, as the transaction is then rolled back.
    """
    queue = _Queue()
    _HELD[store] = queue
    try:
        yield
    finally:
        del _HELD[store]
    queue.write(store)


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
    ``send_broadcast`` instead.  Inside ``together`` its rows are written
    with the others' when the block ends.
    """
    held = _HELD.get(store)
    queue = held if held is not None else _Queue()
    passed = _pass(store, config, rules, out, now, raw, queue)
    if held is None:
        queue.write(store)
    return passed


def _pass(
    store: Store,
    config: Config,
    rules: Rules,
    out: Outgoing,
    now: datetime,
    raw: bytes | None,
    queue: _Queue,
) -> Passed:
    """``send`` of one email, its rows held in ``queue``."""
    guarded = [a for a in dict.fromkeys((*out.to, *out.cc)) if not _exempt(rules, a, out.kind)]
    if guarded and queue.counts:
        queue.write_counts(store)
    # The facts of every school (or other non-staff) address, in one statement.
    directory = rules.directory
    read = store.guard_facts_of(
        [a for a in guarded if not directory.is_staff_address(a)],
        day=now - timedelta(days=1),
        hour=now - timedelta(hours=1),
    )
    kept_to: list[str] = []
    kept_cc: list[str] = []
    why: list[str] = []
    for field, kept in ((out.to, kept_to), (out.cc, kept_cc)):
        for address in field:
            refused = _refusal(store, rules, address, out.kind, now, read)
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
        built = outbox_rows(
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
        queue.emails.append(built)
    recipients = [
        (address, _stranger(rules, address), address not in sent.to)
        for address in dict.fromkeys((*sent.to, *sent.cc))
    ]
    queue.counts.extend(auto_reply_rows(sent.kind, now, recipients, domain=sent.about))
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
