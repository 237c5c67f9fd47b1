"""Tests for the pipeline's decisions, driven through a real database."""

from __future__ import annotations

import email
import email.policy
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from support import SHIPPED_RULES, SUPPORT, Env, local, mail, make_env, plain

from mailbot import pipeline
from mailbot.calls import listing
from mailbot.calls.store import Store
from mailbot.pipeline.records import Action, Context, RawMail, Triage

MONDAY_9 = local(2026, 11, 23, 9, 5)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    """The pipeline on each supported database: SQLite and a private PostgreSQL."""
    return make_env(tmp_path, db_url)


def confirmation_id(env: Env) -> str:
    return env.to_schools()[0].message_id


def test_school_email_opens_a_call_and_queues_a_confirmation(env: Env) -> None:
    t = env.feed(mail("school-new-request"), MONDAY_9)
    assert t.action is Action.OPEN_CALL
    assert t.call is not None and t.call.ref == "ICT-000001"
    [out] = env.to_schools()
    assert out.kind == "confirmation"
    msg = email.message_from_bytes(out.raw, policy=email.policy.default)
    assert msg["Subject"] == "[ICT-000001] Internet very slow in the ICT suite"
    assert msg["To"] == "head@oakfield-primary.westshire.sch.uk"
    assert msg["Cc"] == "t.reeves@oakfield-primary.westshire.sch.uk"
    assert msg["In-Reply-To"] == "<new-request-1@oakfield-primary.westshire.sch.uk>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_body(preferencelist=("html",)) is not None


def test_confirmation_states_type_priority_and_real_targets(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    text = plain(env.to_schools()[0])
    assert "Priority:   P2 (Significant impact)" in text
    assert "Response:   within 1 day, by 9.05am on Tuesday 24 November" in text
    assert "Fix:        within 2 days, by 9.05am on Wednesday 25 November" in text
    assert "Please keep [ICT-000001] in the subject" in text


def test_confirmation_asks_for_missing_details_only(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    text = plain(env.to_schools()[0])
    # The headteacher's phone is in the directory and "since this morning" says
    # when it last worked; the number affected and error messages are missing.
    assert "a contact telephone number" not in text
    assert "when it last worked" not in text
    assert "how many people or devices are affected" not in text  # "suite" names the room
    assert "any error messages, word for word" in text


def test_confirmation_out_of_hours_says_when_it_is_picked_up(env: Env) -> None:
    env.feed(mail("school-new-request"), local(2026, 11, 20, 19, 30))
    text = plain(env.to_schools()[0])
    assert "outside our support hours" in text
    assert "picked up when we reopen, at 8am on Monday 23 November" in text


def test_confirmation_in_hours_does_not_mention_hours(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    assert "outside our support hours" not in plain(env.to_schools()[0])


def test_reply_with_tag_is_appended_without_a_new_call_or_reply(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-outlook-quoted", confirmation_id=confirmation_id(env))
    t = env.feed(raw, local(2026, 11, 23, 10, 12))
    assert t.action is Action.APPEND and t.call is not None and t.call.ref == "ICT-000001"
    assert env.count_calls() == 1
    assert len(env.to_schools()) == 1
    record = listing.show_call(env.sessions, "ICT-000001")
    assert record is not None
    stored = [m for m in record["messages"] if m["direction"] == "in"][-1]
    assert stored["text"].strip() == (
        "It affects all 30 machines in the suite. Our number is 01632 960101."
    )
    assert "Original Message" in stored["full_text"]


def test_reply_threads_by_in_reply_to_without_a_tag(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("school-reply-headers-only", confirmation_id=confirmation_id(env))
    t = env.feed(raw, local(2026, 11, 23, 10, 30))
    assert t.action is Action.APPEND and t.thread_via == "threading headers"
    assert env.count_calls() == 1


def test_out_of_office_on_a_thread_is_recorded_and_never_answered(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    raw = mail("out-of-office-on-thread", confirmation_id=confirmation_id(env))
    t = env.feed(raw, local(2026, 11, 23, 9, 6))
    assert t.action is Action.RECORD
    assert len(env.to_schools()) == 1
    record = listing.show_call(env.sessions, "ICT-000001")
    assert record is not None and record["status"] == "open"
    assert [e["kind"] for e in record["events"]] == ["opened", "automatic"]


def test_bounce_opens_nothing_and_sends_nothing(env: Env) -> None:
    t = env.feed(mail("bounce-dsn"), MONDAY_9)
    assert t.action is Action.IGNORE
    assert env.count_calls() == 0 and env.outbox() == []


def test_own_mail_is_never_answered(env: Env) -> None:
    t = env.feed(mail("own-mail-echo"), MONDAY_9)
    assert t.action is Action.IGNORE and env.outbox() == []


def test_unknown_sender_gets_one_polite_reply_a_day(env: Env) -> None:
    first = env.feed(mail("unknown-sender"), MONDAY_9)
    again = mail("unknown-sender").replace(b"stranger-1@", b"stranger-2@")
    second = env.feed(again, local(2026, 11, 23, 15, 0))
    assert first.action is Action.UNKNOWN_REPLY and second.action is Action.HOLD
    [out] = env.to_schools()
    assert out.kind == "unknown_sender" and env.count_calls() == 0
    third = env.feed(again.replace(b"stranger-2@", b"stranger-3@"), local(2026, 11, 24, 9, 10))
    assert third.action is Action.UNKNOWN_REPLY


@pytest.mark.parametrize(("policy", "action"), [("open", Action.OPEN_CALL), ("hold", Action.HOLD)])
def test_unknown_sender_policy_is_a_rule(tmp_path: Path, policy: str, action: Action) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    p = rules / "policy.toml"
    p.write_text(p.read_text().replace('action = "reply"', f'action = "{policy}"'))
    env = make_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", rules_dir=rules)
    t = env.feed(mail("unknown-sender"), MONDAY_9)
    assert t.action is action
    assert env.count_calls() == (1 if policy == "open" else 0)


def test_password_is_removed_from_storage_and_replies(env: Env) -> None:
    t = env.feed(mail("school-password"), MONDAY_9)
    assert t.password_found and t.call is not None
    record = listing.show_call(env.sessions, t.call.ref)
    assert record is not None
    assert "Tr0ub4dor" not in str(record)
    [out] = env.to_schools()
    assert b"Tr0ub4dor" not in out.raw
    assert "Please change that password now" in plain(out)


def test_oversize_message_gets_a_clear_reply(env: Env) -> None:
    raw = mail("school-new-request")
    header_only = raw.split(b"\n\n", 1)[0] + b"\n\n"
    t = pipeline.run(
        Triage(key="", raw=RawMail(raw=header_only, size=25_000_000, truncated=True)),
        _context(env),
    )
    assert t.action is Action.OVERSIZE and env.count_calls() == 0
    [out] = t.outgoing
    assert "25.0 MB" in out.text and "15 MB" in out.text


def test_oversize_photo_is_reported_at_its_true_size_not_its_encoded_size(env: Env) -> None:
    # A 16.5 MB photo is 22.6 MB once base64-encoded for email.
    header_only = (
        b"From: Helen Marsh <head@oakfield-primary.westshire.sch.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\nSubject: Photo of the cabinet\r\n"
        b"Message-ID: <photo-1@oakfield-primary.westshire.sch.uk>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    encoded = 16_500_000 * 78 // 57
    t = pipeline.run(
        Triage(key="", raw=RawMail(raw=header_only, size=encoded, truncated=True)),
        _context(env),
    )
    [out] = t.outgoing
    assert "about 16.5 MB of attachments" in out.text and "22.6 MB as sent" in out.text


def test_same_email_twice_is_processed_once(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    t = env.feed(mail("school-new-request"), local(2026, 11, 23, 9, 6))
    assert t.action is Action.DUPLICATE
    assert env.count_calls() == 1 and len(env.to_schools()) == 1


def test_tag_from_another_school_neither_reveals_nor_changes_the_call(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    t = env.feed(mail("stranger-quotes-other-schools-tag"), local(2026, 11, 23, 12, 0))
    # No spurious call: the writer is told and the email held for a human.
    assert t.action is Action.NOT_THEIR_CALL and t.call is None and env.count_calls() == 1
    record = listing.show_call(env.sessions, "ICT-000001")
    assert record is not None
    # Only the school's own request is on its call; the stranger's mail is not.
    assert [m["from"] for m in record["messages"] if m["direction"] == "in"] == [
        "head@oakfield-primary.westshire.sch.uk"
    ]
    [told] = env.to_schools()[1:]
    text = plain(told)
    assert told.kind == "not_their_call" and "is not one of your school's calls" in text
    assert "Oakfield" not in text and "ICT-000001" not in text


def test_hourly_limit_stops_a_reply_storm(env: Env) -> None:
    for n in range(7):
        raw = mail("school-new-request").replace(b"new-request-1@", f"storm-{n}@".encode())
        env.feed(raw, local(2026, 11, 23, 9, 10 + n))
    assert env.count_calls() == 7
    assert len(env.to_schools()) == 5


def test_a_failing_stage_leaves_nothing_behind(env: Env) -> None:
    def explode(t: Triage, ctx: Context) -> Triage:
        raise RuntimeError("simulated crash after the call was written")

    stages = (*pipeline.STAGES[:-1], explode)
    with pytest.raises(RuntimeError), env.sessions() as session, session.begin():
        pipeline.run(_start(mail("school-new-request")), _context(env, session), stages)
    assert env.count_calls() == 0 and env.outbox() == []
    # The same email processed again afterwards is handled normally, once.
    assert env.feed(mail("school-new-request"), MONDAY_9).action is Action.OPEN_CALL
    assert env.count_calls() == 1


def _start(raw: bytes) -> Triage:
    return Triage(key="", raw=RawMail(raw=raw, size=len(raw)))


def _context(env: Env, session: Session | None = None) -> Context:
    store = Store(session or env.sessions(), "ICT", 6)
    return Context(config=env.config, rules=env.rules, now=MONDAY_9, store=store)


def test_support_address_is_the_sender_of_every_reply(env: Env) -> None:
    env.feed(mail("school-new-request"), MONDAY_9)
    env.feed(mail("unknown-sender"), MONDAY_9)
    rows = env.to_schools()
    froms = {email.message_from_bytes(o.raw, policy=email.policy.default)["From"] for o in rows}
    assert {f.addresses[0].addr_spec for f in froms} == {SUPPORT}
    # The envelope sender is the support address with a return path of the
    # email's own (VERP, on by default), different for every email.
    local, domain = SUPPORT.split("@")
    assert all(re.fullmatch(rf"{local}\+b-[a-z2-7]{{16}}@{domain}", o.mail_from) for o in rows)
    assert len({o.mail_from for o in rows}) == len(rows) == 2
