"""The flood cap counts a domain's calls by their stored domain (issue 16, migration 0008).

Each call keeps its requester's mail domain, lower-cased; the flood cap's
count reads only that domain's calls of the hour through an index, where it
matched every call of the hour by pattern before.  The count is the same:
whatever the case of the address, and for calls opened before the column
existed (the migration fills it in).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from support import Env, local, make_env

from mailbot.calls.store import Store
from mailbot.mail.fields import mail_domain
from mailbot.storage.db import alembic_config, make_engine, upgrade
from mailbot.storage.models import Call

NOW = local(2026, 11, 23, 9, 5)
OAKFIELD = "oakfield-primary.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def request(sender: str, n: int) -> bytes:
    lines = [
        f"From: Teacher {n} <{sender}>",
        "To: ictsupport@westshire.gov.uk",
        f"Subject: Printer {n} jammed in class 3",
        "Date: Mon, 23 Nov 2026 09:00:00 +0000",
        f"Message-ID: <domain-{n}@example.test>",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        "",
        f"Hello, printer {n} in class 3 has jammed since this morning.",
        "",
    ]
    return "\r\n".join(lines).encode()


def test_the_domain_is_what_follows_the_last_at_sign_in_lower_case() -> None:
    assert mail_domain("K.Lloyd@Oakfield-Primary.Westshire.SCH.uk") == OAKFIELD
    assert mail_domain('"a@b"@x.example') == "x.example"
    assert mail_domain("no-at-sign") is None
    assert mail_domain(None) is None


def test_calls_from_an_address_in_capitals_count_towards_the_domains_cap(env: Env) -> None:
    for n in range(3):
        sender = f"teacher{n}@{OAKFIELD.upper() if n % 2 else OAKFIELD}"
        assert str(env.feed(request(sender, n), NOW + timedelta(minutes=n)).action) == "open_call"
    with env.sessions() as session:
        store = Store(session, "ICT", 6)
        hour_ago = NOW + timedelta(minutes=5) - timedelta(hours=1)
        assert store.new_calls_from_domain_since(OAKFIELD.upper(), hour_ago) == 3
        assert store.new_calls_from_domain_since("westshire.sch.uk", hour_ago) == 0
        domains = list(session.scalars(select(Call.requester_domain).order_by(Call.id)))
    assert domains == [OAKFIELD] * 3


def test_the_migration_fills_in_the_domain_of_calls_opened_before_it(
    tmp_path: Path, db_url: str
) -> None:
    env = make_env(tmp_path, db_url)
    senders = [f"a.b@{OAKFIELD}", "Head@St-Marys-CE.westshire.sch.uk"]
    for n, sender in enumerate(senders):
        env.feed(request(sender, n), NOW + timedelta(minutes=n))
    # Back to before 0008 (the column goes), then up again: it is filled in.
    command.downgrade(alembic_config(db_url), "0007_intakeindex")
    upgrade(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT requester_domain FROM calls ORDER BY id")).scalars()
        assert list(found) == [OAKFIELD, "st-marys-ce.westshire.sch.uk"]
    engine.dispose()
