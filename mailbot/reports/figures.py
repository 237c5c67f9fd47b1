"""The monthly report's figures, worked out from plain rows: no database, no clock.

"Fixed within target" is defined once, in ``judge``: a call is fixed within
target when it was solved at or before its fix target (``fix_due_at``, which
is the agreed revised deadline when one was agreed, moved on by any time the
clock was paused).  Each call is judged exactly once, in the month its outcome
was settled: the month it was solved, when that was within target; otherwise
the month its target passed unsolved (whenever it was solved afterwards, if
ever).  A call closed without being worked (declined by the headteacher,
rejected by the Change Advisory Board, withdrawn) is never judged.  A call
whose target has not passed, or whose clock stopped short of its target
(awaiting the school or the headteacher) and is still stopped, is not judged
yet: it counts in a later month's share, and the month it was logged in
shows it among the calls not yet due.  Problem records are internal and have
no target; they appear only as open problems.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from mailbot.rules.files import CALL_TYPES as TYPES
from mailbot.rules.files import PRIORITIES
from mailbot.sla.months import Month

# Types and priorities are shown in the rules' order; anything else follows, sorted.
# How many months the trend charts cover, ending with the report's month.
MONTHS = 12


@dataclass(frozen=True)
class CallRow:
    """What the report needs to know about one call."""

    ref: str
    school_id: str | None
    type: str
    priority: str
    status: str
    subject: str
    created_at: datetime
    fix_due_at: datetime | None
    solved_at: datetime | None
    paused_since: datetime | None = None
    revised_due_at: datetime | None = None
    revised_reason: str = ""
    closed_at: datetime | None = None
    # Closed without being worked: declined by the headteacher, rejected by
    # the Change Advisory Board, or withdrawn by the school.
    withdrawn: bool = False
    # Why the call missed its fix target, in the officer's words (#reason).
    missed_reason: str = ""
    # The fix target before the first revised deadline replaced it (None
    # when no deadline was revised, or the record does not say).
    original_due_at: datetime | None = None
    # The requester's satisfaction rating, its comment and when it was given.
    rating: int | None = None
    rating_comment: str = ""
    rated_at: datetime | None = None


@dataclass(frozen=True)
class IncidentRow:
    """A major incident as the report lists it."""

    ref: str
    title: str
    declared_at: datetime
    resolved_at: datetime | None


class Outcome(StrEnum):
    """Whether a call was fixed within target, as far as is known."""

    IN_TARGET = "in target"
    MISSED = "missed"
    NOT_YET_DUE = "not yet due"
    # Closed without being worked (declined by the headteacher, rejected by
    # the board, withdrawn): never fixed, so neither in target nor missed,
    # and never judged in a later month either.
    NOT_WORKED = "not worked"


def judge(call: CallRow, now: datetime) -> tuple[Outcome, datetime | None]:
    """Whether ``call`` was fixed within target, and the instant that settled it.

    See the module's description for the definition; ``now`` is when the
    report is made, since an open call's target may not have passed yet.
    """
    due = call.fix_due_at
    if call.withdrawn:
        return Outcome.NOT_WORKED, None
    if due is None:
        return Outcome.NOT_YET_DUE, None
    if call.solved_at is not None and call.solved_at <= due:
        return Outcome.IN_TARGET, call.solved_at
    if call.solved_at is None and call.paused_since is not None and call.paused_since <= due:
        # The clock stopped before the target and has not restarted: the
        # target moves on for as long as it stays stopped.
        return Outcome.NOT_YET_DUE, None
    if due < now:
        return Outcome.MISSED, due
    return Outcome.NOT_YET_DUE, None


@dataclass(frozen=True)
class Judged:
    """A call with its outcome and the month that outcome counts in (None: not yet)."""

    call: CallRow
    outcome: Outcome
    month: Month | None


@dataclass(frozen=True)
class Share:
    """How many calls of one kind were judged in a month, and how many in target."""

    key: str
    in_target: int = 0
    missed: int = 0
    aim: float | None = None

    @property
    def judged(self) -> int:
        return self.in_target + self.missed

    @property
    def share(self) -> float | None:
        """The share fixed within target, or None when no call was judged."""
        return self.in_target / self.judged if self.judged else None

    @property
    def met(self) -> bool | None:
        """Whether the aim was met; None without an aim or without calls."""
        share = self.share
        return None if self.aim is None or share is None else share >= self.aim


@dataclass(frozen=True)
class SchoolLine:
    """One school's line in the overall report."""

    school_id: str | None
    logged: int
    share: Share


@dataclass(frozen=True)
class Figures:
    """Everything one version of the monthly report shows."""

    month: Month
    now: datetime
    logged: tuple[CallRow, ...]
    rows: tuple[Judged, ...]
    by_type: tuple[tuple[str, int], ...]
    by_priority: tuple[tuple[str, int], ...]
    by_school: tuple[SchoolLine, ...]
    shares: tuple[Share, ...]
    total: Share
    # Calls logged in the month that count in a later month's share.
    not_yet_due: int
    missed: tuple[Judged, ...]
    trend: tuple[tuple[Month, tuple[Share, ...]], ...]
    volume: tuple[tuple[Month, tuple[tuple[str, int], ...]], ...]
    problems: tuple[CallRow, ...]
    incidents: tuple[IncidentRow, ...]
    # Calls logged in the month that were closed without being worked, so
    # count in no month's share.
    not_worked: int = 0
    # Each service's availability in the month, as plain rows (uptime.as_rows),
    # with the incidents and planned work behind each figure.
    availability: tuple[dict[str, object], ...] = ()
    # The calls whose requester rated them in the month (mailbot/reports/ratings.py).
    rated: tuple[CallRow, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether nothing at all happened in the month (no calls, problems or incidents)."""
        return not (self.rows or self.problems or self.incidents)


def _ordered(keys: Iterable[str], first: tuple[str, ...]) -> list[str]:
    found = set(keys)
    return [k for k in first if k in found] + sorted(found - set(first))


def _shares(
    judged: Iterable[Judged], keys: Iterable[str], aims: Mapping[str, float]
) -> tuple[Share, ...]:
    counts: Counter[tuple[str, Outcome]] = Counter((j.call.type, j.outcome) for j in judged)
    return tuple(
        Share(
            key,
            counts[(key, Outcome.IN_TARGET)],
            counts[(key, Outcome.MISSED)],
            aims.get(key),
        )
        for key in keys
    )


def _total(judged: Iterable[Judged], key: str = "all") -> Share:
    counts = Counter(j.outcome for j in judged)
    return Share(key, counts[Outcome.IN_TARGET], counts[Outcome.MISSED])


def compute(
    month: Month,
    calls: Iterable[CallRow],
    problems: Iterable[CallRow],
    incidents: Iterable[IncidentRow],
    *,
    aims: Mapping[str, float],
    zone: ZoneInfo,
    now: datetime,
) -> Figures:
    """The report for ``month`` from these rows (which may cover more than the month).

    The caller passes one school's rows for that school's version: nothing
    here looks at other rows, so a school's figures come from its calls alone.
    """
    start, end = month.bounds(zone)
    window = [month.shift(-n) for n in range(MONTHS - 1, -1, -1)]
    every: list[Judged] = []
    rated: list[CallRow] = []
    for call in calls:
        if call.rating is not None and call.rated_at is not None and start <= call.rated_at < end:
            rated.append(call)
        if call.type == "problem":
            continue  # Problem records have no target; they are listed as open problems.
        outcome, settled = judge(call, now)
        every.append(Judged(call, outcome, Month.of(settled, zone) if settled else None))
    judged = [j for j in every if j.month == month]
    settled_here = {j.call.ref for j in judged}
    unworked = {j.call.ref for j in every if j.outcome is Outcome.NOT_WORKED}
    # A call closed unworked is never judged, so it is not waiting for a later month.
    later = {j.call.ref for j in every if j.call.ref not in settled_here} - unworked
    logged = sorted(
        (j.call for j in every if start <= j.call.created_at < end),
        key=lambda c: (c.created_at, c.ref),
    )
    rows = sorted(
        (j for j in every if j.month == month or start <= j.call.created_at < end),
        key=lambda j: (j.call.created_at, j.call.ref),
    )
    types = Counter(c.type for c in logged)
    priorities = Counter(c.priority for c in logged)
    per_school = Counter(c.school_id for c in logged)
    judged_at: dict[str | None, list[Judged]] = {}
    for j in judged:
        judged_at.setdefault(j.call.school_id, []).append(j)
    by_school = tuple(
        SchoolLine(school, per_school[school], _total(judged_at.get(school, ()), school or ""))
        for school in sorted(set(per_school) | set(judged_at), key=lambda s: (s is None, s or ""))
    )
    share_types = _ordered({j.call.type for j in judged} | set(aims), TYPES)
    trend_types = _ordered(aims, TYPES)
    # One pass each over the calls, however many months the charts cover.
    judged_in: dict[Month | None, list[Judged]] = {}
    logged_in: dict[Month, Counter[str]] = {m: Counter() for m in window}
    for j in every:
        judged_in.setdefault(j.month, []).append(j)
        created = Month.of(j.call.created_at, zone)
        if created in logged_in:
            logged_in[created][j.call.type] += 1
    trend = tuple((m, _shares(judged_in.get(m, ()), trend_types, aims)) for m in window)
    volume_types = _ordered({j.call.type for j in every}, TYPES)
    volume = [(m, tuple((t, logged_in[m][t]) for t in volume_types)) for m in window]
    return Figures(
        month=month,
        now=now,
        logged=tuple(logged),
        rows=tuple(rows),
        by_type=tuple((t, types[t]) for t in _ordered(types, TYPES)),
        by_priority=tuple((p, priorities[p]) for p in _ordered(priorities, PRIORITIES)),
        by_school=by_school,
        shares=_shares(judged, share_types, aims),
        total=_total(judged),
        not_yet_due=sum(1 for c in logged if c.ref in later),
        not_worked=sum(1 for c in logged if c.ref in unworked),
        missed=tuple(j for j in rows if j.month == month and j.outcome is Outcome.MISSED),
        trend=trend,
        volume=tuple(volume),
        problems=tuple(
            sorted(
                (p for p in problems if p.created_at < end and not _closed_by(p, end)),
                key=lambda p: (p.created_at, p.ref),
            )
        ),
        rated=tuple(sorted(rated, key=lambda c: (c.rated_at or start, c.ref))),
        incidents=tuple(
            sorted(
                (
                    i
                    for i in incidents
                    if i.declared_at < end and (i.resolved_at is None or i.resolved_at >= start)
                ),
                key=lambda i: (i.declared_at, i.ref),
            )
        ),
    )


def _closed_by(call: CallRow, end: datetime) -> bool:
    return call.status == "closed" and call.closed_at is not None and call.closed_at < end
