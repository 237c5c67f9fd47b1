"""Storage operations the pipeline performs inside one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from mailbot.calls import lifecycle
from mailbot.calls.rating import Rating
from mailbot.calls.records import CallView, Classification
from mailbot.mail.fields import mail_domain
from mailbot.mail.message import ParsedMessage
from mailbot.sla.calendar import clock_start
from mailbot.sla.clock import Clock, SlaPolicy
from mailbot.storage import links, rows, threads
from mailbot.storage.loopguard import LoopGuardRecords
from mailbot.storage.models import Call, Message, Processed
from mailbot.storage.outbox import OutboxRecords

# How many rows `calls list` reads from the cursor at a time.
_LISTING_BATCH = 500

# The lookups every received email makes, built once (see storage/rows.py).
_IS_PROCESSED = select(Processed.id).where(Processed.key == bindparam("key"))
# Read through ix_calls_domain_created: only the domain's calls of the hour.
_NEW_FROM_DOMAIN = select(func.count(Call.id)).where(
    Call.requester_domain == bindparam("domain"),
    Call.created_at >= bindparam("since", type_=Call.created_at.type),
)


# Core, not the ORM: it runs for every school's new call and almost always
# finds nothing, and the ORM's execution of an entity query cost several
# times the statement itself.  Its rows become CallViews directly.
_RECENT_DONE = (
    select(rows.CALLS)
    .where(
        Call.school_id == bindparam("school"),
        Call.category == bindparam("category"),
        Call.type == "incident",
        Call.status.in_(("solved", "closed")),
        Call.solved_at >= bindparam("since", type_=Call.solved_at.type),
        Call.id != bindparam("besides"),
    )
    .order_by(Call.solved_at.desc())
    .limit(20)
)


def view(call: Call | Row[Any]) -> CallView:
    """Snapshot an ORM call (or a row of the calls table) into a plain record."""
    return CallView(
        id=call.id,
        ref=call.ref,
        status=call.status,
        type=call.type,
        priority=call.priority,
        school_id=call.school_id,
        requester_email=call.requester_email,
        requester_name=call.requester_name,
        subject=call.subject,
        created_at=call.created_at,
        clock_start_at=call.clock_start_at,
        response_due_at=call.response_due_at,
        fix_due_at=call.fix_due_at,
        escalation_level=call.escalation_level,
        assignee=call.assignee,
        missing=tuple(json.loads(call.missing_details or "[]")),
        solved_at=call.solved_at,
        team=call.team,
        category=call.category,
        incident_id=call.incident_id,
        change_board=call.change_board,
        rating_invited_at=call.rating_invited_at,
    )


class Store(LoopGuardRecords, OutboxRecords):
    """The pipeline's window on the database, bound to one open session."""

    def __init__(self, session: Session, ref_prefix: str, ref_width: int) -> None:
        self.session = session
        self.ref_prefix = ref_prefix
        self.ref_width = ref_width
        # The session holds its rows weakly: a call opened here is kept, so
        # the stages after it find it in the session instead of reading it again.
        self._opened: list[Call] = []

    # --- reading -----------------------------------------------------------

    def is_processed(self, key: str) -> bool:
        """Whether the email with this key has already been handled."""
        found = rows.connection(self.session).execute(_IS_PROCESSED, {"key": key}).first()
        return found is not None

    def call_by_ref(self, ref: str) -> CallView | None:
        """Return the call with reference ``ref``."""
        call = self.session.scalar(select(Call).where(Call.ref == ref))
        return view(call) if call else None

    def call_by_message_ids(self, ids: Sequence[str]) -> CallView | None:
        """Return the call that one of these Message-IDs belongs to, newest id first."""
        if not ids:
            return None
        rows = self.session.execute(
            select(Message.message_id, Message.call_id).where(
                Message.message_id.in_(list(ids)), Message.call_id.is_not(None)
            )
        ).all()
        by_id = {mid: cid for mid, cid in rows}
        for mid in reversed(ids):
            if mid in by_id:
                call = self.session.get(Call, by_id[mid])
                return view(call) if call else None
        return None

    def unverified_since(self, since: datetime, address: str | None = None) -> int:
        """Count emails held as unverified staff mail after ``since`` (from ``address``)."""
        return unverified_since(self.session, since, address)

    def new_calls_from_domain_since(self, domain: str, since: datetime) -> int:
        """Count calls opened since ``since`` by requesters at ``domain``."""
        # Each call's domain is stored lower-cased, as mail domains are blind to case.
        params = {"since": since, "domain": domain.lower()}
        return rows.connection(self.session).execute(_NEW_FROM_DOMAIN, params).scalar() or 0

    # --- writing -----------------------------------------------------------

    def create_call(
        self,
        *,
        now: datetime,
        msg: ParsedMessage,
        subject: str,
        school_id: str | None,
        requester_name: str,
        classification: Classification,
        missing: Sequence[str],
        policy: SlaPolicy,
    ) -> CallView:
        """Insert a new call, start its clock and give it the next reference number."""
        call = Call(
            ref="",
            status="open",
            type=classification.type,
            category=classification.category,
            priority=classification.priority,
            team=classification.team,
            school_id=school_id,
            requester_email=msg.from_addr,
            requester_domain=mail_domain(msg.from_addr),
            requester_name=requester_name,
            subject=subject,
            created_at=now,
            updated_at=now,
            escalation_level=0,
            paused_minutes=0,
            revised_paused_minutes=0,
            missing_details=json.dumps(list(missing)),
        )
        start = clock_start(policy.calendar, now)
        lifecycle.store_clock(call, Clock(call.priority, "open", start), policy)
        # The reference derives from the primary key, so two processes can
        # never hand out the same number; the insert assigns the key.  Both
        # statements are Core ones (storage/rows.py), and the call stays in
        # the session as stored, for the stages after this one.
        call_id = rows.add_call(self.session, call)
        ref = f"{self.ref_prefix}-{call_id:0{self.ref_width}d}"
        rows.set_call_value(self.session, call, "ref", ref)
        self._opened.append(call)
        return view(call)

    def reopen(self, call_id: int, *, now: datetime, actor: str, policy: SlaPolicy) -> CallView:
        """Reopen a solved call because the school replied; its fix clock runs again."""
        call = self.session.get_one(Call, call_id)
        lifecycle.set_status(self.session, call, "open", policy=policy, now=now, actor=actor)
        return view(call)

    def thanked(self, call_id: int, *, now: datetime, actor: str, policy: SlaPolicy) -> CallView:
        """Record a school's thanks; a solved call it confirms is closed now, not later."""
        call = self.session.get_one(Call, call_id)
        lifecycle.add_event(self.session, call, at=now, actor=actor, kind="thanks")
        if call.status == "solved":
            lifecycle.set_status(self.session, call, "closed", policy=policy, now=now, actor=actor)
        return view(call)

    def rate(self, call_id: int, found: Rating, *, now: datetime, actor: str) -> CallView:
        """Record the requester's rating of a closed call; a later one replaces it."""
        call = self.session.get_one(Call, call_id)
        before = f"{call.rating} " if call.rating is not None else ""
        call.rating, call.rating_word = found.score, found.word[:32]
        call.rating_comment, call.rated_at = found.comment, now
        word = "" if found.word == str(found.score) else f" ({found.word})"
        detail = f"{before + '-> ' if before else ''}{found.score}{word}"
        if found.comment:
            detail += f": {found.comment[:200]}"
        lifecycle.add_event(self.session, call, at=now, actor=actor, kind="rated", detail=detail)
        return view(call)

    def resume(self, call_id: int, *, now: datetime, actor: str, policy: SlaPolicy) -> CallView:
        """The school answered a call awaiting it: the clock runs again from now."""
        call = self.session.get_one(Call, call_id)
        status = "in_progress" if call.assignee else "open"
        lifecycle.set_status(self.session, call, status, policy=policy, now=now, actor=actor)
        return view(call)

    def recent_done(
        self, school_id: str, category: str, *, since: datetime, besides: int
    ) -> list[CallView]:
        """A school's incidents of a category solved since ``since``, newest first."""
        params = {"school": school_id, "category": category, "since": since, "besides": besides}
        return [view(c) for c in rows.connection(self.session).execute(_RECENT_DONE, params)]

    def follow_up(
        self, new_id: int, old_id: int, *, now: datetime, problem_after: int
    ) -> CallView | None:
        """Cross-reference a new call to the one it follows on from.

        When incidents keep recurring, the chain gets an internal problem record
        linking them all; it is returned when this call created it.
        """
        session = self.session
        new, old = session.get_one(Call, new_id), session.get_one(Call, old_id)
        links.link(session, new, old, "follows")
        lifecycle.add_event(session, new, at=now, actor="mailbot", kind="follows", detail=old.ref)
        lifecycle.add_event(
            session, old, at=now, actor="mailbot", kind="followed_by", detail=new.ref
        )
        chain = [c for c in links.recurrence_chain(session, new) if c.type == "incident"]
        if new.type != "incident" or len(chain) < problem_after:
            return None
        problems = {p.id: p for c in chain for p in links.linked(session, c, "problem")}
        created = None
        if problems:
            problem = min(problems.values(), key=lambda p: p.id)
        else:
            problem = Call(
                ref="",
                status="open",
                type="problem",
                category=new.category,
                priority=new.priority,
                team=new.team,
                school_id=new.school_id,
                requester_email=None,
                requester_name="",
                subject=f"Recurring: {chain[0].subject}",
                created_at=now,
                updated_at=now,
                escalation_level=0,
                paused_minutes=0,
                revised_paused_minutes=0,
            )
            session.add(problem)
            session.flush()
            problem.ref = f"{self.ref_prefix}-{problem.id:0{self.ref_width}d}"
            refs = ", ".join(c.ref for c in chain)
            lifecycle.add_event(
                session, problem, at=now, actor="mailbot", kind="problem_opened", detail=refs
            )
            created = problem
        for incident in chain:
            links.link(session, problem, incident, "problem")
        lifecycle.add_event(
            session, new, at=now, actor="mailbot", kind="problem", detail=problem.ref
        )
        return view(created) if created else None

    def thread(self, call_id: int, *, staff: bool) -> tuple[str, ...]:
        """Message-IDs of the staff side or the school side of a call's thread."""
        call = self.session.get_one(Call, call_id)
        if staff:
            return threads.staff_thread(self.session, call)
        return threads.school_thread(self.session, call)

    def mark_responded(self, call_id: int, *, now: datetime, actor: str) -> bool:
        """Record the officer's first message to the school (stops the response clock)."""
        call = self.session.get_one(Call, call_id)
        return lifecycle.mark_responded(self.session, call, now=now, actor=actor)

    def add_inbound(
        self,
        *,
        now: datetime,
        msg: ParsedMessage,
        call_id: int | None,
        verdict: str,
        outcome: str,
    ) -> int:
        """Store a received email (text already redacted) and its attachments."""
        row_id = rows.add(
            self.session,
            rows.MESSAGES,
            {
                "call_id": call_id,
                "direction": "in",
                "message_id": msg.message_id,
                "in_reply_to": " ".join(msg.in_reply_to),
                "references": " ".join(msg.references),
                "from_addr": msg.from_addr,
                "from_name": msg.from_name,
                "to_addrs": ", ".join(msg.to),
                "cc_addrs": ", ".join(msg.cc),
                "subject": msg.subject,
                "sent_at": msg.date,
                "received_at": now,
                "size": msg.raw_size,
                "verdict": verdict,
                "outcome": outcome,
                "body_text": msg.text,
                "new_text": msg.new_text,
            },
        )
        found = [
            {
                "message_id": row_id,
                "filename": att.filename,
                "content_type": att.content_type,
                "size": att.size,
                "content": att.content,
            }
            for att in msg.attachments
        ]
        rows.add_many(self.session, rows.ATTACHMENTS, found)
        return row_id

    def add_event(
        self, call_id: int, *, at: datetime, actor: str, kind: str, detail: str = ""
    ) -> None:
        """Append to a call's audit trail."""
        values = {"call_id": call_id, "at": at, "actor": actor, "kind": kind, "detail": detail}
        rows.add(self.session, rows.EVENTS, values)

    def mark_processed(
        self,
        key: str,
        *,
        now: datetime,
        outcome: str,
        call_id: int | None,
        message_row: int | None,
        detail: str = "",
    ) -> None:
        """Record that this email is done; the unique key makes a second attempt fail."""
        values = {
            "key": key,
            "outcome": outcome,
            "call_id": call_id,
            "message_row_id": message_row,
            "processed_at": now,
            "detail": detail,
        }
        rows.add(self.session, rows.PROCESSED, values)


def newest_first(
    session: Session, columns: Sequence[str], *, include_closed: bool = True
) -> Iterator[Row[Any]]:
    """The named columns of every call (or every one not closed), newest first, as they come.

    One Core query: rows come from the cursor as the caller takes them, so
    listing 10,000 calls neither builds 10,000 objects nor holds them all.
    """
    table = Call.__table__.c
    query = select(*(table[name] for name in columns)).order_by(table.id.desc())
    if not include_closed:
        query = query.where(table.status != "closed")
    yield from session.execute(query.execution_options(yield_per=_LISTING_BATCH))


def whole_record(session: Session, ref: str) -> Call | None:
    """The call ``ref`` with its messages, their attachments and its events, loaded at once."""
    return session.scalar(
        select(Call)
        .where(Call.ref == ref)
        .options(selectinload(Call.messages).selectinload(Message.attachments))
        .options(selectinload(Call.events))
    )


def by_ref(session: Session, ref: str) -> Call | None:
    """The call with exactly this (canonical) reference."""
    return session.scalar(select(Call).where(Call.ref == ref))


def unverified_since(session: Session, since: datetime, address: str | None = None) -> int:
    """Count emails held as unverified staff mail after ``since`` (from ``address``)."""
    query = select(func.count(Message.id)).where(
        Message.outcome == "unverified", Message.received_at > since
    )
    if address is not None:
        query = query.where(Message.from_addr == address)
    return session.scalar(query) or 0
