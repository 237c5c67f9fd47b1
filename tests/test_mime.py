"""Tests for building outgoing MIME: headers, encodings, threading and automatic marking."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from mailbot.mime import OWN_MARKER, build
from mailbot.triage import Outgoing

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)


def outgoing(**kw: object) -> Outgoing:
    fields: dict[str, object] = {
        "kind": "confirmation",
        "to": ("head@oakfield-primary.westshire.sch.uk",),
        "cc": (),
        "subject": "[ICT-000001] Internet very slow",
        "text": "Dear Helen,\n\nWe have logged your call.\n",
        "html": "<p>Dear Helen,</p>",
        "message_id": "<ICT-000001.confirmation.abc@westshire.gov.uk>",
    }
    fields.update(kw)
    return Outgoing(**fields)  # type: ignore[arg-type]


def parsed(out: Outgoing) -> email.message.EmailMessage:
    raw = build(out, from_name="Westshire Schools ICT Support", from_addr="ict@w.gov.uk", now=NOW)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_non_ascii_subject_and_name_survive_the_round_trip() -> None:
    out = outgoing(subject="[ICT-000001] Zürich — ça ne marche pas " * 3)
    raw = build(out, from_name="Écoles ICT", from_addr="ict@w.gov.uk", now=NOW)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Subject"] == out.subject.strip()
    assert msg["From"] == "Écoles ICT <ict@w.gov.uk>"


def test_non_ascii_text_is_quoted_printable_utf8() -> None:
    msg = parsed(outgoing(text="Café in the staff room\n"))
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and body["Content-Transfer-Encoding"] == "quoted-printable"
    assert body.get_content().replace("\r\n", "\n") == "Café in the staff room\n"


def test_long_references_are_folded_within_the_line_limit() -> None:
    refs = tuple(f"<message-{n}-with-a-long-identifier@school.example>" for n in range(10))
    raw = build(
        outgoing(in_reply_to=refs[-1], references=refs), from_name="S", from_addr="s@w.uk", now=NOW
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["References"].split() == list(refs)


def test_the_same_email_always_comes_out_as_the_same_bytes() -> None:
    out = outgoing()
    first = build(out, from_name="S", from_addr="s@w.uk", now=NOW)
    assert build(out, from_name="S", from_addr="s@w.uk", now=NOW) == first


def test_every_line_ends_with_crlf() -> None:
    raw = build(outgoing(), from_name="S", from_addr="s@w.uk", now=NOW)
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_replies_are_marked_auto_replied_and_notices_auto_generated() -> None:
    assert parsed(outgoing(in_reply_to="<a@b>"))["Auto-Submitted"] == "auto-replied"
    assert parsed(outgoing())["Auto-Submitted"] == "auto-generated"


def test_every_email_carries_the_own_marker_and_suppresses_out_of_office() -> None:
    msg = parsed(outgoing(kind="escalation1"))
    assert msg[OWN_MARKER] == "escalation1"
    assert msg["X-Auto-Response-Suppress"] == "All"


def test_text_and_html_alternatives_are_both_present() -> None:
    msg = parsed(outgoing())
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(preferencelist=("html",)) is not None
