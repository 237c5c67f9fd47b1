"""Tests for broadcasting incident notices: who gets them, batches, crashes, two processes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support import Env, local, make_env, of_kind

from mailbot.incidents import broadcast, incident
from mailbot.rules.incidentfiles import DistributionList, IncidentRules
from mailbot.storage.db import transaction
from mailbot.storage.models import Delivery, Outbox

NOW = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return make_env(tmp_path, db_url)


def declare(env: Env, email_down: bool = False) -> None:
    with transaction(env.sessions) as session:
        incident.declare(
            session, env.rules, title="Internet down", details="The link failed.",
            by=incident.By(RAJ, NOW), email_down=email_down,
        )  # fmt: skip


def notices(env: Env) -> list[Outbox]:
    return of_kind(env, "incident_notice")


def delivery_states(env: Env) -> dict[str, int]:
    with env.sessions() as session:
        rows = session.execute(
            select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status)
        ).all()
    return {status: int(n) for status, n in rows}


def test_lists_are_rules_over_roles_and_phases(env: Env) -> None:
    got = {r.address: r.lists for r in broadcast.recipients(env.rules, email_down=False)}
    # Headteachers of every phase; network managers of secondary schools only.
    assert got["head@little-acorns.westshire.sch.uk"] == ("All Headteachers",)
    assert got["b.lowe@brookfield-high.westshire.sch.uk"] == ("All Secondary Network Managers",)
    assert "t.reeves@oakfield-primary.westshire.sch.uk" not in got


def test_a_contact_on_two_lists_gets_one_copy(env: Env) -> None:
    both = DistributionList(name="Everyone at Riverside", roles=("network_manager",))
    rules = replace(
        env.rules,
        lists=(*env.rules.lists, both),
        incidents=IncidentRules(lists=("All Secondary Network Managers", both.name)),
    )
    got = [r for r in broadcast.recipients(rules, False) if r.address.startswith("a.rahman@")]
    assert len(got) == 1
    assert got[0].lists == ("All Secondary Network Managers", "Everyone at Riverside")


def test_with_email_down_only_alternative_addresses_are_used(env: Env) -> None:
    got = broadcast.recipients(env.rules, email_down=True)
    reachable = {r.address: r.route for r in got if r.route}
    assert reachable == {
        "helen.marsh.oakfield@gmail.example": "fallback",
        "aisha.rahman.work@outlook.example": "fallback",
    }
    unreachable = [r.address for r in got if not r.route]
    assert "head@st-marys-ce.westshire.sch.uk" in unreachable


def test_every_recipient_is_queued_once_in_bounded_batches(env: Env) -> None:
    declare(env)
    small = replace(env.rules, incidents=IncidentRules(lists=env.rules.incidents.lists, batch=2))
    total = len(broadcast.recipients(env.rules, False))
    sizes = []
    while (report := broadcast.run(env.sessions, env.config, small, NOW)).queued:
        sizes.append(report.queued)
    assert max(sizes) == 2 and sum(sizes) == total
    addresses = [json.loads(o.recipients)[0] for o in notices(env)]
    assert len(addresses) == len(set(addresses)) == total


def test_running_the_broadcast_again_sends_nothing_more(env: Env) -> None:
    declare(env)
    while broadcast.run(env.sessions, env.config, env.rules, NOW).queued:
        pass
    before = len(notices(env))
    assert broadcast.run(env.sessions, env.config, env.rules, NOW) == broadcast.BroadcastReport()
    assert len(notices(env)) == before
    assert delivery_states(env) == {"queued": before}


def test_a_crash_while_queueing_leaves_the_batch_pending_and_it_goes_once_later(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    declare(env)
    broadcast.expand(env.sessions, env.rules, NOW)
    real = broadcast._compose
    calls = {"n": 0}

    def dies_on_the_third(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-batch")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(broadcast, "_compose", dies_on_the_third)
    with pytest.raises(RuntimeError):
        broadcast.queue(env.sessions, env.config, env.rules, NOW, 50)
    # The batch's transaction rolled back: nothing queued, nothing in the outbox.
    assert notices(env) == [] and "queued" not in delivery_states(env)
    monkeypatch.setattr(broadcast, "_compose", real)
    while broadcast.run(env.sessions, env.config, env.rules, NOW).queued:
        pass
    addresses = [json.loads(o.recipients)[0] for o in notices(env)]
    assert len(addresses) == len(set(addresses)) == len(broadcast.recipients(env.rules, False))


def test_expanding_twice_writes_each_recipient_once(env: Env) -> None:
    declare(env)
    assert broadcast.expand(env.sessions, env.rules, NOW) == 1
    assert broadcast.expand(env.sessions, env.rules, NOW) == 0
    total = len(broadcast.recipients(env.rules, False))
    assert delivery_states(env) == {"pending": total}


def test_two_processes_broadcasting_at_once_send_each_notice_once(env: Env) -> None:
    declare(env)
    small = replace(env.rules, incidents=IncidentRules(lists=env.rules.incidents.lists, batch=1))

    def worker(_: int) -> int:
        sent = 0
        while (done := broadcast.run(env.sessions, env.config, small, NOW)).queued or done.expanded:
            sent += done.queued
        return sent

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(worker, range(2)))
    total = len(broadcast.recipients(env.rules, False))
    assert sum(counts) == total
    addresses = [json.loads(o.recipients)[0] for o in notices(env)]
    assert len(addresses) == len(set(addresses)) == total


def test_unreachable_contacts_are_recorded_and_never_queued(env: Env) -> None:
    declare(env, email_down=True)
    while broadcast.run(env.sessions, env.config, env.rules, NOW).queued:
        pass
    states = delivery_states(env)
    assert states["queued"] == 2 and states["unreachable"] >= 3
    assert {o.route for o in notices(env)} == {"fallback"}
