"""Claiming due rows exactly once when several mailbot processes share one database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute

from mailbot.storage.db import Session

Row = TypeVar("Row")


def claim(
    session: Session,
    model: type[Row],
    key: InstrumentedAttribute[int],
    ids: Sequence[int],
    guard: ColumnElement[bool],
    marker: Mapping[str, Any],
) -> list[Row]:
    """Take the rows ``ids`` that still meet ``guard`` with one conditional update; return them.

    The update re-checks ``guard`` under the write lock and sets ``marker``
    (which makes the guard false), so of two processes only one takes each
    row: the other finds the guard false.  On PostgreSQL the rows are first
    locked with SKIP LOCKED, so a second daemon moves on instead of waiting.
    """
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(key).where(key.in_(ids), guard).with_for_update(skip_locked=True)
            )
        )
    if not ids:
        return []
    taken = list(
        session.scalars(
            update(model).where(key.in_(ids), guard).values(**marker).returning(key),
            execution_options={"synchronize_session": False},
        )
    )
    if not taken:
        return []
    # The rows are read afresh: the update bypassed the session's copies.
    query = select(model).where(key.in_(taken)).order_by(key)
    return list(session.scalars(query.execution_options(populate_existing=True)))
