"""The door takes a stage's emails together (issue 16): fewer statements, the same guard and rows.

Inside ``door.together`` the emails of one stage (a confirmation and the
team's notice) pass the guard in order, and their outbox rows,
copies and counts are written with one statement per table; the guard reads the facts of
all an email's recipients in one statement.  What it decides and writes
must be exactly what passing them one at a time through ``door.send`` did.
(``send_all`` below is the enqueue stage's loop.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from support import Env, local, make_env

from mailbot.calls import door
from mailbot.calls.store import Store
from mailbot.mail.outgoing import Outgoing
from mailbot.storage.models import AutoReply, BlockedAddress, Message, Outbox

NOW = local(2026, 11, 23, 9, 5)


def send_all(store: Store, env: Env, outs: list[Outgoing]) -> list[door.Passed]:
    """The emails of one stage, sent as the enqueue stage sends them."""
    with door.together(store):
        return [door.send(store, env.config, env.rules, out, NOW) for out in outs]


OAKFIELD = "oakfield-primary.westshire.sch.uk"
TEACHER = f"k.lloyd@{OAKFIELD}"
SPOC = f"t.reeves@{OAKFIELD}"
DESK = "servicedesk@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def email(kind: str, to: tuple[str, ...], cc: tuple[str, ...] = (), n: int = 0) -> Outgoing:
    return Outgoing(
        kind=kind,
        to=to,
        cc=cc,
        subject=f"[ICT-000001] Printer {n} jammed",
        text=f"Dear Kim,\n\nWe have logged your call {n}.\n",
        html=f"<p>Dear Kim,</p><p>We have logged your call {n}.</p>",
        message_id=f"<ICT-000001.{kind}.{n}@westshire.gov.uk>",
    )


def a_stage() -> list[Outgoing]:
    """What a new request's stage sends: the confirmation (cc the contact), the team's notice."""
    return [email("confirmation", (TEACHER,), (SPOC,)), email("new_call", (DESK,), n=1)]


def run(env: Env, step: Callable[[Store], object]) -> list[str]:
    """Run ``step`` in one transaction; return the SQL statements it executed."""
    executed: list[str] = []

    def count(*args: Any) -> None:
        executed.append(str(args[2]))

    engine = env.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with env.sessions() as session, session.begin():
            step(Store(session, "ICT", 6))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return executed


def stored(env: Env) -> tuple[list[tuple[Any, ...]], ...]:
    """Every outbox row, copy and count, in id order, as plain values."""
    with env.sessions() as s:
        outbox = [
            (o.id, o.message_id, o.call_id, o.kind, o.mail_from, o.recipients, o.raw, o.status)
            for o in s.scalars(select(Outbox).order_by(Outbox.id))
        ]
        copies = [
            (m.id, m.message_id, m.direction, m.to_addrs, m.cc_addrs, m.subject, m.size)
            for m in s.scalars(select(Message).order_by(Message.id))
        ]
        counts = [
            (a.id, a.address, a.kind, a.domain, a.stranger, a.copy)
            for a in s.scalars(select(AutoReply).order_by(AutoReply.id))
        ]
    return outbox, copies, counts


def test_a_stages_two_emails_are_written_with_one_statement_per_table(env: Env) -> None:
    executed = run(env, lambda store: send_all(store, env, a_stage()))
    inserts = [s.split("(")[0].strip() for s in executed if s.startswith("INSERT")]
    assert inserts == [
        "INSERT INTO outbox",
        "INSERT INTO messages",
        "INSERT INTO auto_replies",
    ]
    # The guard asked about the teacher and the contact together, once.
    assert len([s for s in executed if "blocked_addresses" in s]) == 1
    outbox, copies, counts = stored(env)
    assert [o[3] for o in outbox] == ["confirmation", "new_call"]
    assert [c[3] for c in copies] == [TEACHER, DESK]
    assert [(c[1], c[5]) for c in counts] == [
        (TEACHER, False),
        (SPOC, True),
        (DESK, False),
    ]


def test_together_or_one_at_a_time_the_rows_are_the_same(tmp_path: Path) -> None:
    made = {}
    for name in ("together", "apart"):
        (tmp_path / name).mkdir()
        made[name] = make_env(tmp_path / name, f"sqlite:///{tmp_path / name / 'mailbot.db'}")
    together, apart = made["together"], made["apart"]
    run(together, lambda s: send_all(s, together, a_stage()))

    def one_by_one(store: Store) -> None:
        for out in a_stage():
            door.send(store, apart.config, apart.rules, out, NOW)

    run(apart, one_by_one)
    assert stored(together) == stored(apart)
    assert len(stored(together)[0]) == 2


def test_a_later_email_of_the_stage_is_capped_by_the_earlier_ones_count(env: Env) -> None:
    # Four replies to the teacher this hour: the stage's first email is the
    # fifth (the hourly cap), so its second one to the teacher is refused.
    with env.sessions() as session, session.begin():
        Store(session, "ICT", 6).record_auto_replies(
            "confirmation",
            NOW - timedelta(minutes=30),
            [(TEACHER, False, False)] * 4,
        )
    outs = [email("confirmation", (TEACHER,)), email("info_needed", (TEACHER,), n=2)]
    passed: list[door.Passed] = []
    run(env, lambda s: passed.extend(send_all(s, env, outs)))
    assert [p.out is not None for p in passed] == [True, False]
    assert passed[1].why == (f"{TEACHER} reached the hourly limit",)
    assert [o[3] for o in stored(env)[0]] == ["confirmation"]


def test_an_address_the_guard_blocks_is_refused_again_in_other_letters(env: Env) -> None:
    # At the daily cap: the To address is blocked by this email, and the same
    # address copied in capitals is then refused as blocked, not counted again.
    shouting = TEACHER.upper()
    with env.sessions() as session, session.begin():
        Store(session, "ICT", 6).record_auto_replies(
            "confirmation",
            NOW - timedelta(hours=5),
            [(TEACHER, False, False)] * 30 + [(shouting, False, False)] * 30,
        )
    out = email("confirmation", (TEACHER, SPOC), (shouting,))
    passed: list[door.Passed] = []
    run(env, lambda s: passed.extend(send_all(s, env, [out])))
    assert passed[0].why == (
        f"{TEACHER} reached the daily limit and is now blocked",
        f"{shouting} is blocked as a mail loop",
    )
    assert passed[0].out is not None and passed[0].out.to == (SPOC,)
    with env.sessions() as s:
        assert list(s.scalars(select(BlockedAddress.address))) == [TEACHER.lower()]
