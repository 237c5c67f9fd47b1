"""Cross-references between calls: related, follow-ups, problems and their chains."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select

from mailbot.storage.db import Session
from mailbot.storage.models import Call, CallLink


def link(session: Session, call: Call, other: Call, kind: str) -> None:
    """Cross-reference two calls (once; the pair is stored in one direction)."""
    exists = session.scalar(
        select(CallLink.id).where(
            CallLink.call_id == call.id, CallLink.other_id == other.id, CallLink.kind == kind
        )
    )
    if exists is None:
        session.add(CallLink(call_id=call.id, other_id=other.id, kind=kind))
        session.flush()


def linked(session: Session, call: Call, kind: str) -> list[Call]:
    """Calls linked to ``call`` by ``kind``, in either direction."""
    links = session.scalars(
        select(CallLink).where(
            CallLink.kind == kind, or_(CallLink.call_id == call.id, CallLink.other_id == call.id)
        )
    ).all()
    ids = {lk.other_id if lk.call_id == call.id else lk.call_id for lk in links}
    return list(session.scalars(select(Call).where(Call.id.in_(ids)).order_by(Call.id)))


def recurrence_chain(session: Session, call: Call) -> list[Call]:
    """The call and every earlier call it follows on from, oldest first."""
    chain = [call]
    seen = {call.id}
    while True:
        earlier = session.scalar(
            select(Call)
            .join(CallLink, CallLink.other_id == Call.id)
            .where(CallLink.call_id == chain[0].id, CallLink.kind == "follows")
        )
        if earlier is None or earlier.id in seen:
            return chain
        seen.add(earlier.id)
        chain.insert(0, earlier)


def related_refs(session: Session, call_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each call's cross-referenced calls (any kind, either direction) as sorted references."""
    if not call_ids:
        return {}
    wanted = set(call_ids)
    pairs = session.execute(
        select(CallLink.call_id, CallLink.other_id).where(
            or_(CallLink.call_id.in_(wanted), CallLink.other_id.in_(wanted))
        )
    ).all()
    others: dict[int, set[int]] = {}
    for one, other in pairs:
        if one in wanted:
            others.setdefault(one, set()).add(other)
        if other in wanted:
            others.setdefault(other, set()).add(one)
    ids = {i for found in others.values() for i in found}
    rows = session.execute(select(Call.id, Call.ref).where(Call.id.in_(ids))).all()
    refs = {call_id: ref for call_id, ref in rows}
    return {call_id: sorted(refs[i] for i in found) for call_id, found in others.items()}
