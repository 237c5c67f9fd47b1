"""The intake path's writes as prebuilt Core statements: one per row kind, no unit of work.

Every received email writes an event, the stored email, its processed
record, outbox rows, their copies and the loop guard's counts.  Built once
here and executed on the session's connection, each costs one round trip
and none of the ORM's per-object bookkeeping, which at a thousand emails
cost more CPU than parsing them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, insert, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from mailbot.storage.bookkeeping import AutoReply, Processed
from mailbot.storage.db import Session
from mailbot.storage.models import Attachment, Call, Event, Message, Outbox

EVENTS = cast(Table, Event.__table__)
MESSAGES = cast(Table, Message.__table__)
ATTACHMENTS = cast(Table, Attachment.__table__)
PROCESSED = cast(Table, Processed.__table__)
OUTBOX = cast(Table, Outbox.__table__)
AUTO_REPLIES = cast(Table, AutoReply.__table__)
CALLS = cast(Table, Call.__table__)

_INSERT = {
    table.name: insert(table)
    for table in (EVENTS, MESSAGES, ATTACHMENTS, PROCESSED, OUTBOX, AUTO_REPLIES, CALLS)
}


def connection(session: Session) -> Any:
    """The session's connection, after writing what the ORM still holds pending.

    Rows the ORM holds (a call just opened, an event added through it) go in
    first, so that keys they own exist and ids keep the order of the calls.
    """
    session.flush()
    return session.connection()


def add(session: Session, table: Table, values: dict[str, Any]) -> int:
    """Insert one row into ``table`` now; return its primary key."""
    result = connection(session).execute(_INSERT[table.name], values)
    return int(result.inserted_primary_key[0])


def add_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows into ``table`` with one statement (executemany); nothing for none."""
    if rows:
        connection(session).execute(_INSERT[table.name], list(rows))


def add_call(session: Session, call: Call) -> int:
    """Insert a new call with one Core statement and keep it in the session as stored.

    Every column the call leaves unset gets its default (or None) on the
    object too, exactly as the ORM's own INSERT would write it, so nothing is
    left to read back; the call then belongs to the session like one just
    loaded, and later changes to it are flushed as usual.
    """
    values: dict[str, Any] = {}
    for column in CALLS.columns:
        if column.primary_key:
            continue
        if column.key not in call.__dict__:
            arg = getattr(column.default, "arg", None)
            if callable(arg):
                # Only the ORM can run a computed default; calls have none.
                raise TypeError(f"calls.{column.key} has a computed default")
            setattr(call, column.key, arg)
        values[column.key] = getattr(call, column.key)
    call.id = add(session, CALLS, values)
    make_transient_to_detached(call)
    session.add(call)
    return call.id


@functools.cache
def _set_statement(column: str) -> Update:
    """The UPDATE of one column of one call by its id, built once per column."""
    return (
        update(CALLS)
        .where(CALLS.c.id == bindparam("row_id"))
        .values({column: bindparam("value", type_=CALLS.c[column].type)})
    )


def set_call_value(session: Session, call: Call, column: str, value: object) -> None:
    """Write one column of a stored call now, and on the object as already stored."""
    params = {"row_id": call.id, "value": value}
    connection(session).execute(_set_statement(column), params)
    set_committed_value(call, column, value)
