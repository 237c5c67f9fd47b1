"""The intake path's writes as prebuilt Core statements: one statement per row kind, no unit of work.

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
from mailbot.storage.columns import Base
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


def add_object(session: Session, obj: Base) -> int:
    """Insert a new ORM object with one Core statement and keep it in the session as stored.

    Every column the object leaves unset gets its default (or None) on the
    object too, exactly as the ORM's own INSERT would write it, so nothing is
    left to read back; the object then belongs to the session like one just
    loaded, and later changes to it are flushed as usual.
    """
    table = cast(Table, obj.__table__)
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.primary_key:
            continue
        if column.key not in obj.__dict__:
            default = column.default
            arg = getattr(default, "arg", None) if default is not None else None
            setattr(obj, column.key, None if callable(arg) else arg)
        values[column.key] = getattr(obj, column.key)
    (key,) = table.primary_key.columns
    new_id = add(session, table, values)
    setattr(obj, key.key, new_id)
    make_transient_to_detached(obj)
    session.add(obj)
    return new_id


@functools.cache
def _set_statement(table_name: str, column: str) -> Update:
    """The UPDATE of one column of one row by its id, built once per table and column."""
    table = {t.name: t for t in (CALLS,)}[table_name]
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({column: bindparam("value", type_=table.c[column].type)})
    )


def set_value(session: Session, obj: Base, column: str, value: object) -> None:
    """Write one column of a stored object now, and on the object as already stored."""
    table = cast(Table, obj.__table__)
    params = {"row_id": getattr(obj, "id"), "value": value}
    connection(session).execute(_set_statement(table.name, column), params)
    set_committed_value(obj, column, value)
