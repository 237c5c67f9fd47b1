"""Tests for planned maintenance: #planned by email and CLI, its scheduled notices, and crashes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, authenticated, local, make_env_with, of_kind, plain

from mailbot.cli.main import main
from mailbot.incidents import availability, broadcast, incident, planned, statuspage
from mailbot.storage.db import transaction
from mailbot.storage.models import Incident

LOGGED = local(2026, 11, 23, 9, 5)
ASKED = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"
# Saturday evening: outside school core time, five days' notice.
STARTS, ENDS = local(2026, 11, 28, 18, 0), local(2026, 11, 28, 21, 0)
WINDOW = "from 2026-11-28 18:00; to 2026-11-28 21:00; services internet, web filtering"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 (Oakfield's internet) logged, so that staff have a thread to write on."""
    return make_env_with(tmp_path, db_url, "school-new-request", LOGGED)


def staff_writes(env: Env, lines: str, now: datetime, n: int = 1) -> None:
    notice = of_kind(env, "new_call")[0].message_id
    raw = (
        "From: Raj Patel <raj.patel@westshire.gov.uk>\r\n"
        "To: ictsupport@westshire.gov.uk\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
        f"Message-ID: <planned-{n}@westshire.gov.uk>\r\n"
        f"In-Reply-To: {notice}\r\nReferences: {notice}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{lines}\r\n"
    )
    env.feed(authenticated(raw.encode()), now)


def broadcast_all(env: Env, now: datetime) -> None:
    while broadcast.run(env.sessions, env.config, env.rules, now).queued:
        pass


def announced(env: Env) -> None:
    staff_writes(env, f"#planned Firewall upgrade; {WINDOW}\r\n\r\nNew firewall hardware.", ASKED)
    broadcast_all(env, ASKED)


def notices(env: Env) -> list[tuple[str, str]]:
    """(recipient, first line) of every planned-maintenance notice in the outbox."""
    return [
        (json.loads(o.recipients)[0], plain(o).splitlines()[0])
        for o in of_kind(env, "planned_notice")
    ]


def firsts(env: Env) -> list[str]:
    return [first for _, first in notices(env)]


def everyone(env: Env) -> set[str]:
    return {r.address for r in broadcast.recipients(env.rules, False)}


def receipt(env: Env) -> str:
    return plain(of_kind(env, "receipt")[-1])


def work(env: Env) -> Incident:
    with env.sessions() as session:
        found = planned.find(session, env.rules, "PW-1")
        assert found is not None
        session.expunge(found)
        return found


def test_announcing_by_email_broadcasts_the_window_and_services_to_every_list_member_once(
    env: Env,
) -> None:
    announced(env)
    assert "announced PW-0001; the notice goes to All Headteachers" in receipt(env)
    got = notices(env)
    assert {r for r, _ in got} == everyone(env)
    assert len(got) == len(everyone(env))
    assert set(firsts(env)) == {"PLANNED MAINTENANCE PW-0001: Firewall upgrade"}
    text = plain(of_kind(env, "planned_notice")[0])
    assert "When: from 6pm on Saturday 28 November until 9pm on Saturday 28 November." in text
    assert "Services affected: internet, web filtering." in text
    assert "New firewall hardware." in text
    # The words below the command never go to the school as a reply.
    assert not of_kind(env, "staff_reply")


def test_the_reminder_start_and_end_each_go_once_when_due(env: Env) -> None:
    announced(env)
    n = len(everyone(env))
    broadcast_all(env, local(2026, 11, 27, 17, 59))
    assert len(notices(env)) == n
    for now in (local(2026, 11, 27, 18, 0), local(2026, 11, 27, 18, 5)):
        broadcast_all(env, now)
    assert firsts(env).count("REMINDER PW-0001: Firewall upgrade") == n
    broadcast_all(env, STARTS)
    broadcast_all(env, local(2026, 11, 28, 19, 0))
    assert firsts(env).count("STARTED PW-0001: Firewall upgrade") == n
    assert work(env).status == "in_progress"
    broadcast_all(env, ENDS)
    broadcast_all(env, local(2026, 11, 29, 9, 0))
    assert firsts(env).count("COMPLETED PW-0001: Firewall upgrade") == n
    assert len(notices(env)) == 4 * n
    assert (work(env).status, work(env).resolved_at) == ("completed", ENDS)


def test_after_downtime_past_the_start_no_late_reminder_goes_but_start_and_end_do(
    env: Env,
) -> None:
    announced(env)
    broadcast_all(env, local(2026, 11, 29, 9, 0))
    assert [f.split()[0] for f in dict.fromkeys(firsts(env))] == [
        "PLANNED",
        "STARTED",
        "COMPLETED",
    ]


def test_work_in_school_core_time_is_refused_by_default(env: Env) -> None:
    lines = "#planned Moodle upgrade; from 2026-12-01 10:00; to 2026-12-01 11:00; services moodle"
    staff_writes(env, lines, ASKED)
    assert "it falls in school core time (08:30-15:30 on school days)" in receipt(env)
    assert "10am on Tuesday 1 December" in receipt(env)
    broadcast_all(env, ASKED)
    assert notices(env) == []


def test_with_warn_work_in_core_time_is_announced_and_the_officer_warned(env: Env) -> None:
    rules = env.rules
    warned = rules.incidents.planned.model_copy(update={"in_core_time": "warn"})
    incidents = rules.incidents.model_copy(update={"planned": warned})
    env = replace(env, rules=replace(rules, incidents=incidents))
    lines = "#planned Moodle upgrade; from 2026-12-01 10:00; to 2026-12-01 11:00; services moodle"
    staff_writes(env, lines, ASKED)
    assert "announced PW-0001" in receipt(env)
    assert "warning: it falls in school core time" in receipt(env)


def test_the_same_hours_in_the_school_holidays_are_not_core_time(env: Env) -> None:
    # 21 December is a weekday after the autumn term ends (18 December).
    holiday = planned.Window(local(2026, 12, 21, 10, 0), local(2026, 12, 21, 11, 0), ("moodle",))
    assert isinstance(planned.check(env.rules, holiday, ASKED), planned.Checked)
    term = replace(holiday, starts=local(2026, 12, 18, 15, 0), ends=local(2026, 12, 18, 16, 0))
    assert isinstance(planned.check(env.rules, term, ASKED), str)


def test_too_little_notice_unknown_services_and_a_backwards_window_are_refused(
    env: Env,
) -> None:
    cases = [
        (
            "#planned Quick fix; from 2026-11-24 18:00; to 2026-11-24 19:00; services email",
            "needs 48 hours' notice",
        ),
        (
            "#planned Upgrade; from 2026-11-28 18:00; to 2026-11-28 19:00; services printers",
            "no service 'printers'",
        ),
        (
            "#planned Upgrade; from 2026-11-28 18:00; to 2026-11-28 17:00; services email",
            "the end must come after the start",
        ),
        ("#planned Upgrade; from next saturday; services email", "2026-12-12 18:30"),
    ]
    for n, (lines, why) in enumerate(cases, start=2):
        staff_writes(env, lines, ASKED, n)
        assert why in receipt(env)
    broadcast_all(env, ASKED)
    assert notices(env) == []


def test_a_change_is_broadcast_once_and_the_notices_follow_the_new_window(env: Env) -> None:
    announced(env)
    n = len(everyone(env))
    broadcast_all(env, local(2026, 11, 27, 18, 0))
    lines = "#planned change PW-0001; from 2026-12-05 18:00; to 2026-12-05 22:00\r\n\r\nMoved."
    staff_writes(env, lines, local(2026, 11, 27, 19, 0), 2)
    assert "changed PW-0001" in receipt(env)
    for now in (local(2026, 11, 27, 19, 0), STARTS, ENDS):
        broadcast_all(env, now)
    assert firsts(env).count("CHANGED PW-0001: Firewall upgrade") == n
    # The old start passed without a start notice; the reminder goes again.
    assert "STARTED PW-0001: Firewall upgrade" not in firsts(env)
    broadcast_all(env, local(2026, 12, 4, 18, 0))
    assert firsts(env).count("REMINDER PW-0001: Firewall upgrade") == 2 * n
    broadcast_all(env, local(2026, 12, 5, 18, 0))
    broadcast_all(env, local(2026, 12, 5, 22, 0))
    assert firsts(env).count("COMPLETED PW-0001: Firewall upgrade") == n
    changed = next(o for o in of_kind(env, "planned_notice") if "CHANGED" in plain(o))
    new_window = "When: from 6pm on Saturday 5 December until 10pm on Saturday 5 December."
    assert new_window in plain(changed)


def test_cancelling_is_broadcast_once_and_nothing_more_follows(env: Env) -> None:
    announced(env)
    n = len(everyone(env))
    staff_writes(env, "#planned cancel PW-0001\r\n\r\nThe supplier postponed.", ASKED, 2)
    assert "cancelled PW-0001" in receipt(env)
    for now in (ASKED, local(2026, 11, 27, 18, 0), STARTS, ENDS):
        broadcast_all(env, now)
    assert firsts(env).count("CANCELLED PW-0001: Firewall upgrade") == n
    assert len(notices(env)) == 2 * n
    cancelled = next(o for o in of_kind(env, "planned_notice") if "CANCELLED" in plain(o))
    assert "This work will not take place: The supplier postponed." in plain(cancelled)
    staff_writes(env, "#planned change PW-0001; to 2026-11-28 22:00", ASKED, 3)
    assert "PW-0001 is cancelled and can no longer be changed" in receipt(env)


def test_the_status_page_and_feed_show_the_work_as_planned(env: Env, tmp_path: Path) -> None:
    announced(env)
    with env.sessions() as session:
        page = statuspage.page_context(session, env.config, env.rules, ASKED)
        feed = statuspage.atom_feed(session, env.config, ASKED).decode()
    assert page["active"] == [] and page["recent"] == []
    [shown] = page["planned"]
    assert (shown["ref"], shown["status"], shown["services"]) == (
        "PW-0001",
        "planned",
        "internet, web filtering",
    )
    html = env.rules.templates.render_page("status_page", page)
    assert "Planned maintenance" in html and "Firewall upgrade" in html
    assert "All services are running normally" in html
    assert "<title>[PW-0001] Planned: Firewall upgrade</title>" in feed


def test_planned_work_is_left_out_of_availability(env: Env) -> None:
    announced(env)
    cal = availability.availability_calendar(env.rules.calendar, "08:00-18:00", "09:00-16:00")
    # A Monday in term: the work (moved onto it) takes 10:00-12:00 of 08:00-18:00.
    with transaction(env.sessions) as session:
        found = planned.find(session, env.rules, "PW-0001")
        assert found is not None
        found.starts_at, found.ends_at = local(2026, 11, 30, 10, 0), local(2026, 11, 30, 12, 0)
    day = (local(2026, 11, 30, 0, 0), local(2026, 12, 1, 0, 0))
    outage = [(local(2026, 11, 30, 9, 0), local(2026, 11, 30, 12, 0))]
    with env.sessions() as session:
        agreed = planned.agreed_outages(session, "internet", *day)
        assert planned.agreed_outages(session, "email", *day) == []
    figure = availability.figure(cal, day, outage, agreed)
    assert (figure.hours_minutes, figure.down_minutes) == (8 * 60, 60)


def test_a_crash_writing_a_scheduled_notice_leaves_it_to_be_written_once_later(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    announced(env)
    real = planned._notice

    def dies(*args: object, **kwargs: object) -> object:
        raise RuntimeError("killed while writing the reminder")

    monkeypatch.setattr(planned, "_notice", dies)
    with pytest.raises(RuntimeError):
        planned.advance(env.sessions, env.rules, local(2026, 11, 27, 18, 0))
    # The stage moved in the same transaction as the notice, so it rolled back too.
    assert work(env).stage == "announced"
    monkeypatch.setattr(planned, "_notice", real)
    broadcast_all(env, local(2026, 11, 27, 18, 1))
    assert firsts(env).count("REMINDER PW-0001: Firewall upgrade") == len(everyone(env))


def test_two_processes_advancing_at_once_write_each_notice_once(env: Env) -> None:
    announced(env)
    now = local(2026, 11, 27, 18, 0)
    with ThreadPoolExecutor(4) as pool:
        written = list(pool.map(lambda _: planned.advance(env.sessions, env.rules, now), range(4)))
    assert sum(written) == 1
    with env.sessions() as session:
        kinds = [u.kind for u in session.get_one(Incident, work(env).id).updates]
    assert kinds == ["announce", "reminder"]


def test_the_cli_announces_changes_cancels_and_lists(
    env: Env, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[service]\naddress = "ictsupport@westshire.gov.uk"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = 1\n[smtp]\nhost = "127.0.0.1"\nport = 1\n'
        f'[database]\nurl = "{env.config.database.url}"\n'
        f'[rules]\ndir = "{env.config.rules.dir}"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--now", "2026-11-23T09:30", "planned"]
    window = ["--from", "2026-11-28 18:00", "--to", "2026-11-28 21:00"]
    assert main([*base, "announce", "Firewall upgrade", *window, "--services", "internet",
                 "--by", "raj"]) == 0  # fmt: skip
    assert main([*base, "change", "PW-0001", "--to", "2026-11-28 22:00", "--by", "raj"]) == 0
    bad = ["--from", "2026-12-01 10:00", "--to", "2026-12-01 11:00", "--services", "email"]
    assert main([*base, "announce", "In core time", *bad, "--by", "raj"]) != 0
    capsys.readouterr()
    assert main([*base, "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["ref"], listed["status"], listed["ends_at"]) == (
        "PW-0001",
        "planned",
        "2026-11-28T22:00:00+00:00",
    )
    assert main([*base, "cancel", "PW-0001", "--details", "Postponed", "--by", "raj"]) == 0
    assert work(env).status == "cancelled"
    broadcast_all(env, ASKED)
    assert [f.split()[0] for f in dict.fromkeys(firsts(env))] == [
        "PLANNED",
        "CHANGED",
        "CANCELLED",
    ]


def test_an_incident_reference_never_names_planned_work(env: Env) -> None:
    announced(env)
    with env.sessions() as session:
        assert incident.find(session, env.rules, "MI-0001") is None
        assert planned.find(session, env.rules, "PW-0001") is not None
