"""What `mailbot check` and `status` ask of the database: reachable, writable, migrated."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from mailbot.storage.db import head_revision, reason, revision_of


@dataclass(frozen=True)
class DatabaseProbe:
    """What a look at the database found; each ``*_error`` is None when that part is fine."""

    connect_error: str | None = None
    current: str | None = None
    head: str = ""
    write_error: str | None = None

    @property
    def initialised(self) -> bool:
        """Whether `mailbot db upgrade` has ever run on this database."""
        return self.current is not None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def probe(engine: Engine, url: str, *, write: bool = True) -> DatabaseProbe:
    """Connect, read the schema's revision and, with ``write``, try a write that is rolled back.

    The write touches the service's own bookkeeping table, so a database the
    service could read but not update (a read-only file, a role with SELECT
    only, a read-only replica) is caught; the transaction is rolled back, so
    the check changes nothing.
    """
    head = head_revision(url)
    try:
        with engine.connect() as connection:
            current = revision_of(connection)
    except SQLAlchemyError as exc:
        return DatabaseProbe(connect_error=reason(exc), head=head)
    if current is None or not write:
        return DatabaseProbe(current=current, head=head)
    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                connection.execute(
                    text("UPDATE service_state SET value = value WHERE key = :key"),
                    {"key": "write-check"},
                )
            finally:
                transaction.rollback()
    except SQLAlchemyError as exc:
        return DatabaseProbe(current=current, head=head, write_error=reason(exc))
    return DatabaseProbe(current=current, head=head)
