"""Broadcast notices keep their bytes: a varied broadcast, digested as 0fd3815 built it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from support import Env, local, make_env

from mailbot.incidents import broadcast, incident, planned
from mailbot.storage.db import transaction
from mailbot.storage.models import Incident, Outbox

RAJ = "raj.patel@westshire.gov.uk"
DECLARED = local(2026, 11, 23, 9, 30)
# Written by this test's scenario on 0fd3815, before notices were built a body at
# a time: each outbox row's Message-ID, kind, recipients and raw bytes.
DIGEST = "d3109729edcd980590a3545890580a362861037e90d401775cb954785cb0b982"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def send_all(env: Env, now: object) -> None:
    while broadcast.run(env.sessions, env.config, env.rules, now).queued:  # type: ignore[arg-type]
        pass


def scenario(env: Env) -> None:
    """Declared with email down, two updates, email back (catch-ups), resolved; planned work."""
    by = incident.By(RAJ, DECLARED)
    with transaction(env.sessions) as session:
        ref_id = incident.declare(
            session, env.rules, title="Internet down across the county",
            details="The county link failed at 09:10.\nEngineers are on site.",
            by=by, email_down=True,
        ).id  # fmt: skip
    send_all(env, DECLARED)
    later = local(2026, 11, 23, 10, 15)
    with transaction(env.sessions) as session:
        found = session.get_one(Incident, ref_id)
        incident.update(session, found, "A spare line is being fitted. Next update by 11:00.",
                        incident.By(RAJ, later))  # fmt: skip
    send_all(env, later)
    back = local(2026, 11, 23, 11, 0)
    with transaction(env.sessions) as session:
        found = session.get_one(Incident, ref_id)
        incident.set_email_down(found, False, incident.By(RAJ, back))
        incident.update(session, found, "School email works again; the internet does not yet.",
                        incident.By(RAJ, back))  # fmt: skip
    send_all(env, back)
    done = local(2026, 11, 23, 12, 40)
    with transaction(env.sessions) as session:
        found = session.get_one(Incident, ref_id)
        incident.resolve(session, env.config, env.rules, found, "Fixed: the line is back.",
                         incident.By(RAJ, done))  # fmt: skip
    send_all(env, done)
    window = planned.Window(local(2026, 12, 21, 10, 0), local(2026, 12, 21, 11, 0), ("moodle",))
    with transaction(env.sessions) as session:
        planned.announce(session, env.rules, title="Moodle upgrade",
                         details="Moodle will be upgraded to the new version.",
                         window=window, by=incident.By(RAJ, done))  # fmt: skip
    send_all(env, done)


def digest(env: Env) -> tuple[str, int, int]:
    """The digest of every broadcast email, how many there are, and how many are catch-ups."""
    with env.sessions() as session:
        rows = session.execute(
            select(Outbox.message_id, Outbox.kind, Outbox.recipients, Outbox.raw)
            .where(Outbox.kind.in_(("incident_notice", "planned_notice")))
            .order_by(Outbox.message_id)
        ).all()
    h = hashlib.sha256()
    for message_id, kind, recipients, raw in rows:
        h.update(f"{message_id}\0{kind}\0{recipients}\0".encode() + bytes(raw) + b"\0")
    catchups = sum(b"here is everything we have said" in bytes(r[3]) for r in rows)
    return h.hexdigest(), len(rows), catchups


def test_every_notice_is_byte_for_byte_what_it_was(env: Env) -> None:
    scenario(env)
    got, count, catchups = digest(env)
    # A broadcast of every kind: declared, updates, catch-ups, resolved, planned.
    assert count == 25 and catchups == 5
    assert got == DIGEST
