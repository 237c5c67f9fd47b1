"""The scheduler's due work: escalate calls and close solved ones, each exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailbot.approval import board
from mailbot.calls import door, helddigest, lifecycle, notices, rating
from mailbot.calls.records import Staff
from mailbot.calls.store import Store, view
from mailbot.config import Config
from mailbot.daemon.store import change_deadlines, due_ids
from mailbot.errors import Conflict, TransientError
from mailbot.reports import job, reviewjob
from mailbot.rules.loader import Rules
from mailbot.sla import clock as sla
from mailbot.sla.calendar import describe
from mailbot.storage import threads
from mailbot.storage.claims import claim
from mailbot.storage.db import Session, Sessions, transaction
from mailbot.storage.models import Call

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    """What one scheduler tick did, by call reference."""

    escalated: list[tuple[str, int]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    # Monthly reports queued, e.g. "2026-11 all schools to priya.shah@...", and
    # termly review packs, e.g. "review autumn-2026 all schools to ...".
    reports: list[str] = field(default_factory=list)
    # Emergency changes still undecided at their deadline, whose board was reminded.
    reminded: list[str] = field(default_factory=list)
    # Targets that passed unmet and were told, e.g. ("ICT-000001", "response").
    breached: list[tuple[str, str]] = field(default_factory=list)
    # Whether today's digest of the held queue was queued on this tick.
    held_digest: bool = False


def _escalate(
    session: Session, config: Config, rules: Rules, ids: list[int], now: datetime
) -> list[tuple[str, int]]:
    """Send the escalation each due call has reached, and set its next one."""
    policy = rules.clock
    guard = Call.next_escalation_at <= now
    calls = claim(session, Call, Call.id, ids, guard, {"next_escalation_at": None})
    words = threads.first_words(session, [c.id for c in calls])
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    done = []
    for call in calls:
        clock = lifecycle.clock_of(call)
        reached = sla.levels_reached(policy, clock, now)
        if not reached:
            # The stored instant was stale (the rules changed, say): put it right.
            lifecycle.store_clock(call, clock, policy)
            continue
        top = reached[-1]
        lifecycle.store_clock(call, replace(clock, escalation_level=top.level), policy)
        for level in reached:
            passed = "" if level is top else f"passed while level {top.level} was due"
            lifecycle.add_event(
                session, call, at=now, actor="mailbot", kind=f"escalation{level.level}",
                detail=passed,
            )  # fmt: skip
        out = notices.escalation(
            config,
            rules,
            view(call),
            top,
            now=now,
            details=words.get(call.id, ""),
            thread=threads.staff_thread(session, call),
        )
        if out is None:
            lifecycle.add_event(
                session, call, at=now, actor="mailbot", kind="escalation_unsent",
                detail="no officer to tell: check staff.toml",
            )  # fmt: skip
        else:
            door.send(store, config, rules, out, now)
        done.append((call.ref, top.level))
    return done


def _breach(
    session: Session, config: Config, rules: Rules, ids: list[int], now: datetime
) -> list[tuple[str, int]]:
    """Tell staff once of each response or fix target that passed unmet."""
    guard = Call.breach_due_at <= now
    calls = claim(session, Call, Call.id, ids, guard, {"breach_due_at": None})
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    done = []
    for call in calls:
        # The claim cleared the instant; the call's state says what is still unmet.
        passed = {t: at for t, at in lifecycle.unmet_targets(call).items() if at <= now}
        for target, due_at in passed.items():
            told = [t for t in call.breaches_told.split(",") if t]
            call.breaches_told = ",".join([*told, target])
            lifecycle.add_event(
                session, call, at=now, actor="mailbot", kind=f"breach_{target}",
                detail=f"{target} target {due_at.isoformat()} passed unmet",
            )  # fmt: skip
            out = notices.breach(
                config,
                rules,
                view(call),
                target,
                due_at,
                now=now,
                thread=threads.staff_thread(session, call),
            )
            if out is not None:
                door.send(store, config, rules, out, now)
            done.append((call.ref, 1 if target == "response" else 2))
        lifecycle.store_breach(call)
    return done


def _close(
    session: Session, config: Config, rules: Rules, ids: list[int], now: datetime
) -> list[tuple[str, int]]:
    """Close each solved call whose time has come, and send the school its closure notice."""
    guard = (Call.status == "solved") & (Call.close_due_at <= now)
    store = Store(session, rules.policy.references.prefix, rules.policy.references.width)
    done = []
    for call in claim(session, Call, Call.id, ids, guard, {"close_due_at": None}):
        solved_at = call.solved_at
        lifecycle.set_status(session, call, "closed", policy=rules.clock, now=now, actor="mailbot")
        solved = describe(solved_at, rules.calendar, now) if solved_at else ""
        # The invitation to rate is made once in a call's life, and only in
        # a notice that reaches the requester.
        invite = (
            call.rating_invited_at is None
            and rating.invited(rules.policy.satisfaction, call.type)
            and bool(notices.school_to(view(call)))
        )
        if invite:
            call.rating_invited_at = now
        out = notices.to_school(
            config,
            rules,
            view(call),
            "closure",
            {"solved": solved.removeprefix("by "), "rating": rating.invitation(rules, invite)},
            now=now,
            occasion=solved_at.isoformat() if solved_at else "",
            thread=threads.school_thread(session, call),
        )
        if out is not None:
            door.send(store, config, rules, out, now)
        done.append((call.ref, 0))
    return done


def _remind(
    session: Session, config: Config, rules: Rules, ids: list[int], now: datetime
) -> list[tuple[str, int]]:
    """Remind the emergency board (and the project manager) once of each overdue decision."""
    # The claim clears the deadline, so read it first: the reminder states it.
    due = change_deadlines(session, ids)
    done = []
    for call in claim(
        session, Call, Call.id, ids, Call.change_due_at <= now, {"change_due_at": None}
    ):
        # A deadline left on a call the board has already decided is just cleared.
        if call.status == "awaiting_approval":
            work = board.Work(session, config, rules, call, Staff("mailbot", now), "reminder")
            board.remind(work, due.get(call.id) or now)
            done.append((call.ref, call.change_round))
    return done


Work = Callable[[Session, Config, Rules, list[int], datetime], list[tuple[str, int]]]


def _each(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    now: datetime,
    ids: list[int],
    work: Work,
) -> list[tuple[str, int]]:
    """Do ``work`` for the due calls: all in one transaction, or one by one if that fails.

    One transaction (one commit) for the whole batch keeps a tick cheap.  The
    claim inside it makes it safe beside another process; should anything go
    wrong, the batch is rolled back and redone one call per transaction, so a
    single bad call can neither block the others nor be done twice.
    """
    if not ids:
        return []
    try:
        with transaction(sessions) as session:
            return work(session, config, rules, ids, now)
    except Exception as exc:
        log.info("batch of %d due calls failed (%s); doing them one by one", len(ids), exc)
    results: list[tuple[str, int]] = []
    for call_id in ids:
        try:
            with transaction(sessions) as session:
                results.extend(work(session, config, rules, [call_id], now))
        except Conflict:
            pass  # Another process did this one first.
        except TransientError as exc:
            log.warning("due work on call %s postponed: %s", call_id, exc)
        except Exception:
            # A scheduler job must never die of one call.  The failed call's
            # claim was rolled back, so it stays due and is retried (and
            # logged) on every tick until the cause is fixed.
            log.exception("due work on call %s failed", call_id)
    return results


def run_due(
    sessions: Sessions,
    config: Config,
    rules: Rules,
    now: datetime,
    batch: int = 200,
    *,
    reports: bool = True,
) -> TickReport:
    """Do every breach alert, escalation, closure, change reminder and report due at ``now``.

    Safe late (everything overdue is due), twice (a done call no longer
    matches), and in two processes at once (each call is claimed by one).
    With ``reports`` false the monthly reports are left out: the daemon looks
    for those on a slower beat of its own, as they fall due once a month.
    """
    report = TickReport()
    # Each job's due calls are found before any job runs; a call an earlier
    # job changes is re-checked by the later job's claim, so nothing is done
    # on a stale reading.
    # All are read in one session, so a tick checks out one connection for them.
    with sessions() as session:
        columns = (Call.next_escalation_at, Call.close_due_at, Call.change_due_at)
        escalate, close, remind, breach = due_ids(
            session, (*columns, Call.breach_due_at), now, batch
        )
    # Breaches first: a target that passed is told before a later escalation
    # about the same call, so the thread reads in order.
    report.breached = [
        (ref, "response" if n == 1 else "fix")
        for ref, n in _each(sessions, config, rules, now, breach, _breach)
    ]
    report.escalated = _each(sessions, config, rules, now, escalate, _escalate)
    report.closed = [ref for ref, _ in _each(sessions, config, rules, now, close, _close)]
    report.reminded = [ref for ref, _ in _each(sessions, config, rules, now, remind, _remind)]
    try:
        report.held_digest = helddigest.send_due(sessions, config, rules, now)
    except Exception:
        # Nothing was recorded, so the digest stays due and is tried next tick.
        log.exception("held queue digest not sent")
    if reports:
        # Last month's reports, on this month's first working day (see reportjob).
        report.reports = job.send_due(sessions, config, rules, now)
        # The last term's review packs, once it has ended (see reviewjob).
        reviews = reviewjob.send_due(sessions, config, rules, now)
        report.reports += [f"review {line}" for line in reviews]
    return report
