"""Forged staff and school mail through the pipeline, on SQLite and PostgreSQL (issue 11)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support import (
    AUTHSERV,
    Env,
    authenticated,
    local,
    mail,
    make_env,
    make_env_with,
    of_kind,
    plain,
    recipients,
    show,
    write_config_file,
)

from mailbot.cli.main import main
from mailbot.incidents import broadcast, statuspage
from mailbot.pipeline.records import Action
from mailbot.rules.directory import SenderKind
from mailbot.storage.db import upgrade
from mailbot.storage.models import Event, Incident, Message

LOGGED = local(2026, 11, 23, 9, 5)
TEN = local(2026, 11, 23, 10, 0)
SAM = "sam.okafor@westshire.gov.uk"
HEAD = "head@oakfield-primary.westshire.sch.uk"
FORGED_WORDS = "please send your network admin password so we can check"
_counter = iter(range(1, 10_000))


def with_status_page(
    env: Env, tmp: Path, *, authserv_id: str | None = AUTHSERV, **service: object
) -> Env:
    """``env`` writing a status page, with the receiving server's id (None: unset, as shipped)."""
    page = env.config.status_page.model_copy(
        update={"dir": tmp / "status", "url": "https://status.westshire.example/"}
    )
    svc = env.config.service.model_copy(update={"authserv_id": authserv_id, **service})
    env.config = env.config.model_copy(update={"status_page": page, "service": svc})
    return env


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """ICT-000001 (Oakfield, P2, open) logged; authserv_id unset as config.example.toml ships."""
    made = make_env_with(tmp_path, db_url, "school-new-request", LOGGED)
    return with_status_page(made, tmp_path, authserv_id=None)


def notice(env: Env) -> str:
    return of_kind(env, "new_call")[0].message_id


def staff_email(env: Env, from_line: str, lines: str, *, headers: str = "") -> bytes:
    """A reply to the team's notice on ICT-000001, as anyone on the internet can write it."""
    n = next(_counter)
    return (
        f"{headers}From: {from_line}\r\nTo: ictsupport@westshire.gov.uk\r\n"
        "Subject: RE: [ICT-000001] Oakfield Primary School: Internet very slow\r\n"
        f"In-Reply-To: {notice(env)}\r\nMessage-ID: <forged-{n}@evil.example>\r\n\r\n"
        f"{lines}\r\n\r\n{FORGED_WORDS}\r\n"
    ).encode()


ATTACK = "#priority 1\r\n#assign sam\r\n#major declare Internet down everywhere"


def snapshot(env: Env) -> tuple[object, ...]:
    """What a forgery must not change: the call, its events, incidents."""
    shown = show(env)
    with env.sessions() as s:
        events = s.scalar(select(func.count(Event.id))) or 0
        incidents = s.scalar(select(func.count(Incident.id))) or 0
    return shown["status"], shown["priority"], shown["assignee"], events, incidents


def assert_changed_nothing_and_warned_sam(
    env: Env, before: tuple[object, ...], now: datetime
) -> None:
    assert snapshot(env) == before
    # Nothing reached a school or a list; the only new email is the warning to Sam.
    new = [o for o in env.outbox() if o.kind not in ("confirmation", "new_call")]
    assert [(o.kind, recipients(o)) for o in new] == [("unverified_staff", [SAM])]
    assert all(FORGED_WORDS not in plain(o) for o in env.outbox())
    # Broadcasting and publishing find no incident: the status page says all is well.
    assert broadcast.run(env.sessions, env.config, env.rules, now).queued == 0
    statuspage.publish(env.sessions, env.config, env.rules, now)
    folder = env.config.status_page.dir
    assert folder is not None
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "Internet down everywhere" not in page


# --- item 1: staff trusted by From alone in the shipped configuration -------------------


def test_forged_staff_mail_with_authserv_id_unset_is_held_and_changes_nothing(env: Env) -> None:
    before = snapshot(env)
    t = env.feed(staff_email(env, f"Sam Okafor <{SAM}>", ATTACK), TEN)
    assert t.action is Action.UNVERIFIED
    assert t.sender is not None and t.sender.kind is SenderKind.UNVERIFIED
    assert "no authserv_id is configured" in t.reason
    assert_changed_nothing_and_warned_sam(env, before, TEN)
    with env.sessions() as s:
        assert s.scalars(select(Message.outcome).where(Message.direction == "in")).all()[-1] == (
            "unverified"
        )


def test_genuine_staff_mail_acts_once_the_receiving_server_vouches_for_it(
    env: Env, tmp_path: Path
) -> None:
    with_status_page(env, tmp_path, authserv_id=AUTHSERV)
    t = env.feed(authenticated(staff_email(env, f"Sam Okafor <{SAM}>", "#priority 1")), TEN)
    assert t.action is Action.APPEND and show(env)["priority"] == "P1"


def test_the_insecure_opt_in_trusts_the_from_header_as_it_says(env: Env, tmp_path: Path) -> None:
    with_status_page(env, tmp_path, authserv_id=None, insecure_trust_staff_from_header=True)
    env.feed(staff_email(env, f"Sam Okafor <{SAM}>", "#priority 1"), TEN)
    assert show(env)["priority"] == "P1"
    assert env.config.service.insecure_warning() is not None
    assert "insecure_trust_staff_from_header" in (env.config.service.insecure_warning() or "")


def test_the_owner_is_warned_once_even_after_receipts_earlier_in_the_hour(
    env: Env, tmp_path: Path
) -> None:
    with_status_page(env, tmp_path, authserv_id=AUTHSERV)
    # Sam works the call: five receipts in the hour reach the hourly reply limit.
    for minute in range(5):
        genuine = authenticated(staff_email(env, f"Sam Okafor <{SAM}>", "#note checked"))
        env.feed(genuine, TEN + timedelta(minutes=minute))
    assert len(of_kind(env, "receipt")) == 5
    before = snapshot(env)
    # Three forgeries in seven minutes, none with our server's results.
    for minute in (10, 13, 17):
        env.feed(staff_email(env, f"Sam Okafor <{SAM}>", ATTACK), TEN + timedelta(minutes=minute))
    assert snapshot(env) == before
    [warning] = of_kind(env, "unverified_staff")
    assert recipients(warning) == [SAM]
    with env.sessions() as s:
        held = s.scalars(select(Message.outcome).where(Message.from_addr == SAM)).all()
    assert held.count("unverified") == 3
    # The next forgery, after the hour, warns again and counts those held silently.
    env.feed(staff_email(env, f"Sam Okafor <{SAM}>", ATTACK), TEN + timedelta(minutes=75))
    first, second = of_kind(env, "unverified_staff")
    assert "2 other emails claiming to be from your address were held" in plain(second)
    assert "other email" not in plain(first)


# --- item 2: display-name differential --------------------------------------------------


def test_an_address_in_the_display_name_does_not_make_the_sender_staff(env: Env) -> None:
    before = snapshot(env)
    # The attacker's own domain passes DMARC; the From shows Sam's address as its name.
    passing = f"Authentication-Results: {AUTHSERV}; dmarc=pass header.from=evil.example\r\n"
    raw = staff_email(env, f"{SAM} <attacker@evil.example>", "#solved", headers=passing)
    t = env.feed(raw, TEN)
    assert t.parsed.from_addr == "attacker@evil.example" and t.parsed.from_suspect
    assert t.sender is not None and t.sender.kind is not SenderKind.STAFF
    assert snapshot(env)[:3] == before[:3]
    assert of_kind(env, "staff_reply") == [] and of_kind(env, "receipt") == []


@pytest.mark.parametrize(
    "from_line",
    [
        f'"{SAM}" <lucy.brennan@westshire.gov.uk>',
        f"Sam Okafor <{SAM}>, Lucy Brennan <lucy.brennan@westshire.gov.uk>",
    ],
)
def test_a_suspect_from_is_never_staff_even_when_authenticated(
    env: Env, tmp_path: Path, from_line: str
) -> None:
    with_status_page(env, tmp_path, authserv_id=AUTHSERV)
    before = snapshot(env)
    t = env.feed(authenticated(staff_email(env, from_line, "#priority 1")), TEN)
    assert snapshot(env) == before
    assert t.sender is not None and t.sender.kind is SenderKind.UNVERIFIED
    assert t.parsed.from_suspect


def test_a_suspect_from_is_never_the_headteacher(tmp_path: Path, db_url: str) -> None:
    env = make_env(tmp_path, db_url)
    env.feed(mail("school-service-request-unauthorised"), LOGGED)
    assert show(env)["status"] == "awaiting_authorisation"
    request = of_kind(env, "authorisation_request")[0].message_id
    raw = (
        f"From: Helen Marsh <{HEAD}>, <someone@oakfield-primary.westshire.sch.uk>\r\n"
        "To: ictsupport@westshire.gov.uk\r\n"
        "Subject: RE: [ICT-000001] Authorisation needed\r\n"
        f"In-Reply-To: {request}\r\nMessage-ID: <suspect-head@evil.example>\r\n\r\n#authorise\r\n"
    ).encode()
    t = env.feed(authenticated(raw), local(2026, 11, 23, 10, 0))
    # Kept as the school's mail on its call, but the #authorise is only text.
    assert show(env)["status"] == "awaiting_authorisation"
    assert t.sender is not None and t.sender.kind is SenderKind.SCHOOL and t.sender.contact is None
    assert t.parsed.from_suspect


# --- item 4: public-suffix alignment ----------------------------------------------------


@pytest.mark.parametrize(
    "results",
    [
        "dkim=pass header.d=gov.uk",
        "spf=pass smtp.mailfrom=bounce@gov.uk",
        "dmarc=pass header.from=gov.uk",
    ],
)
def test_a_pass_for_the_public_suffix_does_not_vouch_for_staff(
    env: Env, tmp_path: Path, results: str
) -> None:
    with_status_page(env, tmp_path, authserv_id=AUTHSERV)
    before = snapshot(env)
    header = f"Authentication-Results: {AUTHSERV}; {results}\r\n"
    t = env.feed(staff_email(env, f"Sam Okafor <{SAM}>", ATTACK, headers=header), TEN)
    assert t.action is Action.UNVERIFIED
    assert_changed_nothing_and_warned_sam(env, before, TEN)


# --- the insecure settings are named on the command line --------------------------------


@pytest.mark.parametrize(
    ("service_lines", "expected"),
    [
        ("", "warning: [service] authserv_id is unset, so no staff mail can be verified"),
        (
            "insecure_trust_staff_from_header = true\n",
            "WARNING: insecure_trust_staff_from_header is on and authserv_id is unset",
        ),
    ],
)
def test_rules_check_and_status_warn_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], service_lines: str, expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    path = write_config_file(tmp_path, url=url, authserv_id="")
    text = path.read_text(encoding="utf-8").replace("[service]\n", "[service]\n" + service_lines)
    path.write_text(text, encoding="utf-8")
    for command in (["rules", "check"], ["status"]):
        capsys.readouterr()
        main(["--config", str(path), "--now", "2026-11-23T10:00", *command])
        warned = [line for line in capsys.readouterr().err.splitlines() if "authserv_id" in line]
        assert len(warned) == 1 and warned[0].startswith(expected)


def test_with_authserv_id_set_nothing_is_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config_file(tmp_path, url=f"sqlite:///{tmp_path / 'm.db'}")
    assert main(["--config", str(path), "rules", "check"]) == 0
    assert "authserv_id" not in capsys.readouterr().err
