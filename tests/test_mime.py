"""Tests for building outgoing MIME: headers, encodings, threading and automatic marking."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from mailbot.mail import mime
from mailbot.mail.mime import OWN_MARKER, Attached, Inline, build, build_related
from mailbot.mail.outgoing import Outgoing

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


# --- build_related: HTML with inline images, and attachments (monthly reports) ----


def related(html: str = '<p><img src="cid:chart.1@w.gov.uk"></p>') -> bytes:
    return build_related(
        outgoing(kind="report", html=html),
        from_name="Westshire Schools ICT Support",
        from_addr="ict@w.gov.uk",
        now=NOW,
        images=[Inline("chart.1@w.gov.uk", "chart.png", b"\x89PNG\r\n\x1a\nfake")],
        attachments=[Attached("calls.csv", b"ref,school\r\nICT-1,Oakfield\r\n", "text/csv")],
    )


def test_related_email_nests_text_html_images_and_attachments_as_mail_clients_expect() -> None:
    msg = email.message_from_bytes(related(), policy=email.policy.default)
    shape = [p.get_content_type() for p in msg.walk()]
    assert shape == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "text/csv",
    ]
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart.1@w.gov.uk>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == b"\x89PNG\r\n\x1a\nfake"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "calls.csv"
    assert msg[OWN_MARKER] == "report" and msg["Auto-Submitted"] == "auto-generated"


def test_related_email_keeps_every_line_within_smtp_limits_however_long_the_html() -> None:
    html = "<table>" + '<td style="padding:6px 10px;border:1px solid #c9d1d9;">x</td>' * 200
    raw = related(html)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("html",))
    assert body is not None and body.get_content() == html


def test_related_email_comes_out_the_same_every_time() -> None:
    assert related() == related()


def test_a_subject_just_too_long_for_one_line_reads_back_without_a_leading_space() -> None:
    # The standard folder moves such a subject whole to a continuation line,
    # which parsers read back as " [ICT-000001] ..."; the first word stays put.
    subject = "[ICT-000001] Oakfield Primary School: Internet very slow in the ICT suite"
    raw = build(outgoing(subject=subject), from_name="S", from_addr="s@w.uk", now=NOW)
    assert f"Subject: {subject[:12]}".encode() in raw
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject


def test_headers_kept_as_written_give_the_bytes_the_full_parse_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Values at the edges of what is kept as written: encoded-word look-alikes,
    # quoted and dotted local parts, brackets, long and non-ASCII subjects.
    cases = [
        outgoing(subject="=?utf-8?q?caf=C3=A9?= and more", to=("a.b+c@Sch.example",)),
        outgoing(subject="Re: [ICT-000001] (urgent) a,b <x@y>", to=('"q r"@a.b', "x..y@a.b")),
        outgoing(subject="word " * 40, cc=("o'neil@x.example", "n@x-y.example.org")),
        outgoing(subject="Zürich  two  spaces", in_reply_to="<a@b>", references=("<r@x>",) * 12),
    ]

    def both() -> list[bytes]:
        return [
            build(o, from_name="O'Brien, Support", from_addr="ict@w.gov.uk", now=NOW) for o in cases
        ]

    fast = both()
    monkeypatch.setattr(
        mime._Wire, "header_store_parse", email.policy.EmailPolicy.header_store_parse
    )
    assert both() == fast
