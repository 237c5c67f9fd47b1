"""The loop guard's records: automatic replies sent, and addresses blocked as mail loops."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Label, Select, bindparam, false, func, select

from mailbot.storage import rows
from mailbot.storage.db import Session
from mailbot.storage.models import AutoReply, BlockedAddress


@dataclass(frozen=True)
class GuardFacts:
    """What the loop guard needs to know about one address, read in one statement."""

    blocked: bool
    # When the latest block on the address was cleared, if ever.
    cleared: datetime | None
    # Automatic replies addressed To it since the day's start given, and since the hour's.
    daily: int
    hourly: int


_AT = AutoReply.at.type
_BLOCKED = (
    select(BlockedAddress.id)
    .where(BlockedAddress.address == bindparam("lower"), BlockedAddress.cleared_at.is_(None))
    .limit(1)
)


def _guard_columns(n: int) -> list[Label[Any]]:
    """The four questions the guard asks of one address, for the ``n``-th address of a statement.

    Each is a scalar subquery with bind names of its own (``lower_n``,
    ``address_n``); ``day`` and ``hour`` are shared.
    """
    lower: BindParameter[str] = bindparam(f"lower_{n}")
    address: BindParameter[str] = bindparam(f"address_{n}")
    return [
        select(BlockedAddress.id)
        .where(BlockedAddress.address == lower, BlockedAddress.cleared_at.is_(None))
        .limit(1)
        .scalar_subquery()
        .label(f"blocked_{n}"),
        select(func.max(BlockedAddress.cleared_at))
        .where(BlockedAddress.address == lower)
        .scalar_subquery()
        .label(f"cleared_{n}"),
        select(func.count(AutoReply.id))
        .where(
            AutoReply.address == address,
            AutoReply.at >= bindparam("day", type_=_AT),
            AutoReply.copy.is_(false()),
        )
        .scalar_subquery()
        .label(f"daily_{n}"),
        select(func.count(AutoReply.id))
        .where(AutoReply.address == address, AutoReply.at >= bindparam("hour", type_=_AT))
        .scalar_subquery()
        .label(f"hourly_{n}"),
    ]


@functools.cache
def _guard(count: int) -> Select[Any]:
    """The guard's questions about ``count`` addresses as one SELECT, built once per count.

    One round trip instead of four per address, and one per email rather
    than one per recipient: a confirmation goes to the sender and the
    school's contact.
    """
    return select(*(column for n in range(count) for column in _guard_columns(n)))


class LoopGuardRecords:
    """What the loop guard counts and blocks, read and written in the caller's session.

    The one door (calls/door.py), the decide and compose stages and the
    command line all consult these, so the queries live here in storage.
    """

    session: Session

    def auto_replies_since(
        self, address: str, since: datetime, kind: str | None = None, *, direct: bool = False
    ) -> int:
        """Count automatic replies to ``address`` since ``since`` (with ``direct``, To only)."""
        query = select(func.count(AutoReply.id)).where(
            AutoReply.address == address, AutoReply.at >= since
        )
        if kind is not None:
            query = query.where(AutoReply.kind == kind)
        if direct:
            query = query.where(AutoReply.copy.is_(False))
        return self.session.scalar(query) or 0

    def last_auto_reply(self, address: str, kind: str) -> datetime | None:
        """When the latest automatic reply of ``kind`` went to ``address``, if ever."""
        query = select(func.max(AutoReply.at)).where(
            AutoReply.address == address, AutoReply.kind == kind
        )
        return self.session.scalar(query)

    def stranger_replies_since(self, since: datetime, domain: str | None = None) -> int:
        """Count automatic replies to strangers since ``since`` (to ``domain`` only, if given)."""
        query = select(func.count(AutoReply.id)).where(
            AutoReply.stranger.is_(True), AutoReply.at >= since
        )
        if domain is not None:
            query = query.where(AutoReply.domain == domain.lower())
        return self.session.scalar(query) or 0

    def notices_about_since(self, domain: str, kind: str, since: datetime) -> int:
        """Count automatic mail of ``kind`` counted against ``domain`` since ``since``."""
        query = select(func.count(AutoReply.id)).where(
            AutoReply.domain == domain.lower(), AutoReply.kind == kind, AutoReply.at >= since
        )
        return self.session.scalar(query) or 0

    def guard_facts(self, address: str, *, day: datetime, hour: datetime) -> GuardFacts:
        """Whether ``address`` is blocked, when it was last cleared, and its replies since.

        ``daily`` counts the replies addressed To it since ``day`` (as
        ``auto_replies_since`` with ``direct`` does); ``hourly`` counts all
        replies to it since ``hour``.
        """
        return self.guard_facts_of([address], day=day, hour=hour)[address]

    def guard_facts_of(
        self, addresses: Sequence[str], *, day: datetime, hour: datetime
    ) -> dict[str, GuardFacts]:
        """``guard_facts`` of each of ``addresses`` (distinct), asked in one statement."""
        if not addresses:
            return {}
        params: dict[str, object] = {"day": day, "hour": hour}
        for n, address in enumerate(addresses):
            params[f"lower_{n}"], params[f"address_{n}"] = address.lower(), address
        row = rows.connection(self.session).execute(_guard(len(addresses)), params).one()
        return {
            address: GuardFacts(
                row[4 * n] is not None, row[4 * n + 1], row[4 * n + 2] or 0, row[4 * n + 3] or 0
            )
            for n, address in enumerate(addresses)
        }

    def is_blocked(self, address: str) -> bool:
        """Whether ``address`` is blocked as a mail loop and not yet cleared."""
        found = rows.connection(self.session).execute(_BLOCKED, {"lower": address.lower()})
        return found.first() is not None

    def blocked_among(self, addresses: Iterable[str]) -> set[str]:
        """Which of ``addresses`` (lower-cased) are blocked now, in one query."""
        wanted = {a.lower() for a in addresses}
        if not wanted:
            return set()
        return set(
            self.session.scalars(
                select(BlockedAddress.address).where(
                    BlockedAddress.address.in_(sorted(wanted)), BlockedAddress.cleared_at.is_(None)
                )
            )
        )

    def blocked_addresses(self) -> list[tuple[str, datetime, str]]:
        """Every address blocked now: (address, since, why), oldest first."""
        rows = self.session.execute(
            select(BlockedAddress.address, BlockedAddress.blocked_at, BlockedAddress.reason)
            .where(BlockedAddress.cleared_at.is_(None))
            .order_by(BlockedAddress.blocked_at)
        ).all()
        return [(a, at, why) for a, at, why in rows]

    def block(self, address: str, *, at: datetime, reason: str) -> None:
        """Block ``address`` as a mail loop (once: a block in force is not repeated)."""
        if not self.is_blocked(address):
            self.session.add(BlockedAddress(address=address.lower(), blocked_at=at, reason=reason))
            self.session.flush()

    def unblock(self, address: str, *, at: datetime, by: str) -> int:
        """Clear the block on ``address``, recording who did it; return how many were cleared.

        The automatic replies counted so far are kept: the daily count starts
        afresh from the moment of clearing, so the loop guard does not block
        the address again at once.
        """
        blocks = list(
            self.session.scalars(
                select(BlockedAddress).where(
                    BlockedAddress.address == address.lower(), BlockedAddress.cleared_at.is_(None)
                )
            )
        )
        for row in blocks:
            row.cleared_at, row.cleared_by = at, by
        return len(blocks)

    def last_unblocked(self, address: str) -> datetime | None:
        """When the latest block on ``address`` was cleared, if ever."""
        return self.session.scalar(
            select(func.max(BlockedAddress.cleared_at)).where(
                BlockedAddress.address == address.lower()
            )
        )

    def record_auto_replies(
        self,
        kind: str,
        at: datetime,
        recipients: Sequence[tuple[str, bool, bool]],
        *,
        domain: str = "",
    ) -> None:
        """Remember one email's automatic replies for the loop guard and the caps, in one statement.

        ``recipients`` are (address, stranger, copy) for each address it went to.
        """
        self.add_auto_reply_rows(auto_reply_rows(kind, at, recipients, domain))

    def add_auto_reply_rows(self, found: Sequence[dict[str, object]]) -> None:
        """Write rows made by ``auto_reply_rows`` (of several emails) in one statement."""
        rows.add_many(self.session, rows.AUTO_REPLIES, found)


def auto_reply_rows(
    kind: str, at: datetime, recipients: Sequence[tuple[str, bool, bool]], domain: str = ""
) -> list[dict[str, object]]:
    """The auto_replies rows of one email (see ``record_auto_replies``)."""
    return [
        {
            "address": address,
            "kind": kind,
            "at": at,
            "domain": (domain or address.rsplit("@", 1)[-1]).lower(),
            "stranger": stranger,
            "copy": copy,
        }
        for address, stranger, copy in recipients
    ]
