"""Issue 14 items 20-23: what the people around a major incident are told, and when.

The reporter of a declared incident is told (23); contacts unreachable while
school email was down get one catch-up notice when their route works again
(20); a reply to a resolved incident's notice becomes a follow-up of it (22).
"""

from __future__ import annotations

import email
import email.policy
import json
from datetime import datetime
from pathlib import Path

import pytest
from support import Env, authenticated, local, mail, make_env_with, of_kind, plain, show

from mailbot.cli.main import main
from mailbot.incidents import broadcast
from mailbot.storage.models import Outbox

LOGGED = local(2026, 11, 23, 9, 5)
DECLARED = local(2026, 11, 23, 9, 30)
RAJ = "raj.patel@westshire.gov.uk"
HELEN = "head@oakfield-primary.westshire.sch.uk"


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 (Oakfield's internet, from its headteacher) logged; nothing declared yet."""
    return make_env_with(tmp_path, db_url, "school-new-request", LOGGED)


def team_notice(env: Env) -> str:
    return of_kind(env, "new_call")[0].message_id


def staff(env: Env, lines: str, now: datetime, tag: str) -> None:
    raw = (
        f"From: Raj Patel <{RAJ}>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        f"Subject: RE: [ICT-000001] Oakfield Primary School: Internet\r\n"
        f"In-Reply-To: {team_notice(env)}\r\nMessage-ID: <{tag}@westshire.gov.uk>\r\n\r\n"
        f"{lines}\r\n"
    ).encode()
    env.feed(authenticated(raw), now)


def broadcast_all(env: Env, now: datetime) -> None:
    while broadcast.run(env.sessions, env.config, env.rules, now).queued:
        pass


# --- 23: the person whose report became the incident is told ---------------------


def test_the_reporter_of_a_declared_incident_is_told_in_their_calls_thread(env: Env) -> None:
    declaring = mail("staff-declares-major-incident", notice_id=team_notice(env))
    env.feed(declaring, DECLARED)
    # Processing the same email again (a redelivery) tells nobody twice.
    env.feed(declaring, DECLARED)
    told = [o for o in of_kind(env, "incident_status") if HELEN in json.loads(o.recipients)]
    assert len(told) == 1
    body = plain(told[0])
    assert "Thank you for reporting this problem (call ICT-000001)" in body
    assert "We have declared it a major incident" in body
    assert "MI-0001: Internet service down across all schools" in body
    assert "The council's internet link failed at 09:20." in body
    message = email.message_from_bytes(told[0].raw, policy=email.policy.default)
    confirmation = of_kind(env, "confirmation")[0].message_id
    assert confirmation in str(message["References"])
    assert str(message["Subject"]).startswith("Re: [ICT-000001]")


def test_the_reporter_is_told_when_the_cli_declares_on_their_call(env: Env, tmp_path: Path) -> None:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[service]\naddress = "ictsupport@westshire.gov.uk"\n'
        f'[imap]\nhost = "127.0.0.1"\nport = 1\n[smtp]\nhost = "127.0.0.1"\nport = 1\n'
        f'[database]\nurl = "{env.config.database.url}"\n'
        f'[rules]\ndir = "{env.config.rules.dir}"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--now", "2026-11-23T09:30", "incidents"]
    assert main([*base, "declare", "Web filtering down", "--call", "ICT-1", "--by", RAJ]) == 0
    [told] = of_kind(env, "incident_status")
    assert json.loads(told.recipients)[0] == HELEN
    assert "We have declared it a major incident" in plain(told)
    assert show(env)["priority"] == "Critical"


# --- 20: contacts unreachable while school email was down are caught up once -------

# Who the shipped lists reach, and how, while school email is down: Oakfield's and
# Riverside's contacts have alternative addresses; the other headteachers have none.
GRACE = "head@st-marys-ce.westshire.sch.uk"
MARTIN = "m.cole@riverside-academy.westshire.sch.uk"
CLAIRE = "head@brookfield-high.westshire.sch.uk"


def notices_to(env: Env, address: str) -> list[str]:
    """The plain text of every incident notice queued for ``address``, oldest first."""
    return [plain(o) for o in of_kind(env, "incident_notice") if address in o.recipients]


def unreachable(env: Env) -> int:
    """How many on the lists have no alternative address (five with the shipped rules)."""
    return len([r for r in broadcast.recipients(env.rules, email_down=True) if not r.route])


def declared_with_email_down(env: Env) -> None:
    staff(
        env,
        "#major declare School email is down\r\n#major email down\r\n\r\nMail is not arriving.",
        DECLARED,
        "declare-down",
    )
    broadcast_all(env, DECLARED)
    staff(
        env, "#major update The supplier is restoring mailboxes.", local(2026, 11, 23, 10, 0), "u1"
    )
    broadcast_all(env, local(2026, 11, 23, 10, 0))


def test_while_email_is_down_contacts_without_an_alternative_address_get_nothing(
    env: Env,
) -> None:
    declared_with_email_down(env)
    assert notices_to(env, GRACE) == [] and notices_to(env, CLAIRE) == []
    assert len(notices_to(env, "helen.marsh.oakfield@gmail.example")) == 2


def test_the_next_notice_after_email_returns_is_one_catch_up_with_the_incident_so_far(
    env: Env,
) -> None:
    declared_with_email_down(env)
    staff(
        env,
        "#major email up\r\n#major update Mail is flowing again; delayed mail is arriving.",
        local(2026, 11, 23, 11, 0),
        "u2",
    )
    broadcast_all(env, local(2026, 11, 23, 11, 0))
    for person in (GRACE, MARTIN, CLAIRE):
        [caught_up] = notices_to(env, person)
        assert not caught_up.startswith("UPDATE 2")
        assert caught_up.startswith("MAJOR INCIDENT MI-0001: School email is down")
        assert "We could not reach you" in caught_up
        # Every notice so far, oldest first.
        order = [
            caught_up.index("Mail is not arriving."),
            caught_up.index("Update 1, "),
            caught_up.index("The supplier is restoring mailboxes."),
            caught_up.index("Update 2, "),
            caught_up.index("Mail is flowing again"),
        ]
        assert order == sorted(order)
    # Those reached at their alternative address had every notice: UPDATE 2 as usual.
    [usual] = notices_to(env, HELEN)
    assert usual.startswith("UPDATE 2 on MI-0001")
    # Nobody is caught up twice: later passes and notices add only the new notice.
    broadcast_all(env, local(2026, 11, 23, 11, 5))
    staff(env, "#major resolve All mail delivered.", local(2026, 11, 23, 12, 0), "resolve")
    broadcast_all(env, local(2026, 11, 23, 12, 0))
    later = notices_to(env, GRACE)
    assert len(later) == 2 and later[1].startswith("RESOLVED MI-0001")


def test_email_returning_with_nothing_new_to_say_sends_the_catch_up_at_once(env: Env) -> None:
    declared_with_email_down(env)
    staff(env, "#major email up", local(2026, 11, 23, 11, 0), "up")
    report = broadcast.run(env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 0))
    assert report.caught_up == unreachable(env)
    broadcast_all(env, local(2026, 11, 23, 11, 0))
    [caught_up] = notices_to(env, GRACE)
    assert "Mail is not arriving." in caught_up
    assert "The supplier is restoring mailboxes." in caught_up
    [row] = [o for o in of_kind(env, "incident_notice") if GRACE in o.recipients]
    parsed_catch_up = email.message_from_bytes(row.raw, policy=email.policy.default)
    # It is the first email of Grace's thread about the incident.
    assert parsed_catch_up["In-Reply-To"] is None
    assert str(parsed_catch_up["Subject"]) == "[MI-0001] Major incident: School email is down"
    # The next passes find nobody left to catch up.
    assert broadcast.run(env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 1)) == (
        broadcast.BroadcastReport()
    )
    assert len(notices_to(env, GRACE)) == 1


def test_a_crash_while_queueing_a_catch_up_sends_it_once_later(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared_with_email_down(env)
    staff(env, "#major email up", local(2026, 11, 23, 11, 0), "up")
    real = broadcast._compose

    def dies(*args: object, **kwargs: object) -> object:
        raise RuntimeError("killed while queueing")

    monkeypatch.setattr(broadcast, "_compose", dies)
    with pytest.raises(RuntimeError):
        broadcast.run(env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 0))
    # The catch-ups were made in their own transaction; queueing rolled back.
    assert notices_to(env, GRACE) == []
    monkeypatch.setattr(broadcast, "_compose", real)
    broadcast_all(env, local(2026, 11, 23, 11, 1))
    broadcast_all(env, local(2026, 11, 23, 11, 2))
    assert len(notices_to(env, GRACE)) == 1
    assert len(notices_to(env, CLAIRE)) == 1


def test_two_processes_catching_up_at_once_catch_each_person_up_once(env: Env) -> None:
    from concurrent.futures import ThreadPoolExecutor

    declared_with_email_down(env)
    staff(env, "#major email up", local(2026, 11, 23, 11, 0), "up")

    def worker(_: int) -> int:
        made = 0
        for _ in range(3):
            made += broadcast.run(
                env.sessions, env.config, env.rules, local(2026, 11, 23, 11, 0)
            ).caught_up
        return made

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(worker, range(2)))
    assert sum(counts) == unreachable(env)
    for person in (GRACE, MARTIN, CLAIRE):
        assert len(notices_to(env, person)) == 1


# --- 21: the status page's address is a link in the HTML of every email about it ----


def html_part(row: Outbox) -> str:
    message = email.message_from_bytes(row.raw, policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_the_status_url_is_a_link_in_the_html_of_notices_and_status_replies(env: Env) -> None:
    url = "https://status.westshire.example/"
    page = env.config.status_page.model_copy(update={"url": url})
    env.config = env.config.model_copy(update={"status_page": page})
    env.feed(mail("staff-declares-major-incident", notice_id=team_notice(env)), DECLARED)
    broadcast_all(env, DECLARED)
    env.feed(mail("school-reports-internet-down"), local(2026, 11, 23, 9, 50))
    link = f'<a href="{url}">{url}</a>'
    for kind in ("incident_notice", "incident_status"):
        for row in of_kind(env, kind):
            assert url in plain(row)
            assert link in html_part(row), kind


# --- 22: a reply to a resolved incident's notice is a follow-up of it ----------------


def resolved_incident(env: Env) -> Outbox:
    """MI-0001 declared, broadcast and resolved; the resolution notice sent to Claire."""
    env.feed(mail("staff-declares-major-incident", notice_id=team_notice(env)), DECLARED)
    broadcast_all(env, DECLARED)
    staff(env, "#major resolve The fibre was repaired at 11:40.", local(2026, 11, 23, 11, 45), "r")
    broadcast_all(env, local(2026, 11, 23, 11, 45))
    [resolution] = [
        o
        for o in of_kind(env, "incident_notice")
        if CLAIRE in o.recipients and plain(o).startswith("RESOLVED")
    ]
    return resolution


def claire_replies(env: Env, notice: Outbox, body: str, now: datetime, tag: str) -> None:
    subject = str(email.message_from_bytes(notice.raw, policy=email.policy.default)["Subject"])
    raw = (
        f"From: Claire Dunn <{CLAIRE}>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        f"Subject: Re: {subject}\r\nIn-Reply-To: {notice.message_id}\r\n"
        f"Message-ID: <{tag}@brookfield-high.westshire.sch.uk>\r\n\r\n{body}\r\n"
    ).encode()
    env.feed(raw, now)


STILL_DOWN = "We still have no internet at Brookfield. The whole school is down, nobody can log on."


def test_a_reply_to_a_resolved_incidents_notice_is_linked_to_it_and_the_school_asked(
    env: Env,
) -> None:
    resolution = resolved_incident(env)
    claire_replies(env, resolution, STILL_DOWN, local(2026, 11, 23, 13, 0), "after")
    follow = show(env, "ICT-000002")
    assert follow["status"] == "awaiting_customer"
    [linked] = [e for e in follow["events"] if e["kind"] == "major_followup"]
    assert linked["detail"].startswith("MI-0001 (resolved)")
    [asked] = of_kind(env, "incident_followup")
    assert json.loads(asked.recipients)[0] == CLAIRE
    body = plain(asked)
    assert "MI-0001: Internet service down across all schools" in body
    assert "The fibre was repaired at 11:40." in body
    assert "Does your school still have this problem?" in body
    # Not a fresh call for the team to work one by one: no confirmation, no team notice.
    assert [o for o in of_kind(env, "confirmation") if CLAIRE in o.recipients] == []
    assert len(of_kind(env, "new_call")) == 1


def test_a_follow_up_never_escalates_breaches_or_counts_as_a_missed_target(env: Env) -> None:
    from mailbot.daemon import jobs
    from mailbot.reports.job import figures_for
    from mailbot.sla.months import Month

    resolution = resolved_incident(env)
    claire_replies(env, resolution, STILL_DOWN, local(2026, 11, 23, 13, 0), "after")
    later = local(2026, 11, 30, 9, 0)
    report = jobs.run_due(env.sessions, env.config, env.rules, later)
    assert [ref for ref, _ in report.escalated] == []
    assert [ref for ref, _ in report.breached if ref == "ICT-000002"] == []
    figures = figures_for(env.sessions, env.rules, Month(2026, 11), None, local(2026, 12, 1, 8))
    assert "ICT-000002" not in [j.call.ref for j in figures.missed]


def test_when_the_school_says_the_problem_continues_it_becomes_a_call_of_its_own(
    env: Env,
) -> None:
    from mailbot.daemon import jobs

    resolution = resolved_incident(env)
    claire_replies(env, resolution, STILL_DOWN, local(2026, 11, 23, 13, 0), "after")
    [asked] = of_kind(env, "incident_followup")
    answer = (
        f"From: Claire Dunn <{CLAIRE}>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        f"Subject: Re: [ICT-000002] x\r\nIn-Reply-To: {asked.message_id}\r\n"
        f"Message-ID: <yes@brookfield-high.westshire.sch.uk>\r\n\r\n"
        f"Yes, it is still down in every classroom.\r\n"
    ).encode()
    env.feed(answer, local(2026, 11, 23, 13, 30))
    follow = show(env, "ICT-000002")
    assert follow["status"] == "open"
    assert [e["kind"] for e in follow["events"] if e["kind"] == "major_unlinked"] == [
        "major_unlinked"
    ]
    # Worked as any call now: the team hears, and it escalates if left.
    told_team = [o for o in of_kind(env, "school_reply") if "still down in every" in plain(o)]
    assert len(told_team) == 1
    report = jobs.run_due(env.sessions, env.config, env.rules, local(2026, 11, 25, 9, 0))
    assert "ICT-000002" in [ref for ref, _ in report.escalated]


def test_an_alternative_address_added_while_email_is_down_gets_the_catch_up_there(
    env: Env, tmp_path: Path
) -> None:
    import shutil

    from support import SHIPPED_RULES

    from mailbot.rules.loader import load_rules

    declared_with_email_down(env)
    # The directory is edited: Grace now has an alternative address.
    edited = tmp_path / "edited-rules"
    shutil.copytree(SHIPPED_RULES, edited)
    schools = edited / "schools.toml"
    text = schools.read_text(encoding="utf-8")
    grace = 'email = "head@st-marys-ce.westshire.sch.uk"\n'
    assert grace in text
    schools.write_text(text.replace(grace, grace + 'alt_email = "grace@home.example"\n'), "utf-8")
    env.rules = load_rules(edited)
    report = broadcast.run(env.sessions, env.config, env.rules, local(2026, 11, 23, 10, 30))
    assert report.caught_up == 1
    broadcast_all(env, local(2026, 11, 23, 10, 31))
    [row] = [o for o in of_kind(env, "incident_notice") if "grace@home.example" in o.recipients]
    assert row.route == "fallback"
    assert "Mail is not arriving." in plain(row) and "restoring mailboxes" in plain(row)
    assert notices_to(env, GRACE) == []
    # Still nobody else: the others have no alternative address yet.
    assert notices_to(env, CLAIRE) == []


def test_a_reply_to_the_resolution_under_a_subject_of_its_own_is_a_follow_up_too(
    env: Env,
) -> None:
    resolution = resolved_incident(env)
    raw = (
        f"From: Claire Dunn <{CLAIRE}>\r\nTo: ictsupport@westshire.gov.uk\r\n"
        f"Subject: Still no internet here\r\nIn-Reply-To: {resolution.message_id}\r\n"
        f"Message-ID: <own-subject@brookfield-high.westshire.sch.uk>\r\n\r\n{STILL_DOWN}\r\n"
    ).encode()
    env.feed(raw, local(2026, 11, 23, 13, 0))
    follow = show(env, "ICT-000002")
    assert follow["status"] == "awaiting_customer"
    assert [e["kind"] for e in follow["events"] if e["kind"] == "major_followup"]
    assert len(of_kind(env, "incident_followup")) == 1
