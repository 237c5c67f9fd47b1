"""Tests for the parse stage: raw bytes to ParsedMessage, on small fixtures and built messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.mail.fields import MAX_IDS
from mailbot.mail.message import ParsedMessage
from mailbot.mail.parse import MAX_HEADER_BYTES, MAX_HEADERS, parse_message

MAIL = Path(__file__).resolve().parent / "mail"


def fixture(name: str, *, max_attachment_bytes: int = 5_000_000) -> ParsedMessage:
    raw = (MAIL / f"{name}.eml").read_bytes()
    return parse_message(raw, max_attachment_bytes=max_attachment_bytes)


def message(*headers: str, body: str = "Hello.\n") -> bytes:
    """A small message for cases that differ only in one header."""
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def strings_of(msg: ParsedMessage) -> list[str]:
    """Every string a ParsedMessage holds."""
    found = [msg.subject, msg.from_name, msg.text, msg.new_text, msg.html or ""]
    found += [msg.from_addr or "", msg.message_id or "", msg.content_type]
    found += [*msg.to, *msg.cc, *msg.reply_to, *msg.in_reply_to, *msg.references]
    found += [*msg.part_types, *msg.defects]
    found += [s for pair in msg.headers for s in pair]
    found += [s for a in msg.attachments for s in (a.filename, a.content_type)]
    return found


# --- Charsets and encoded words --------------------------------------------


def test_nul_characters_are_removed() -> None:
    msg = fixture("nul-characters")
    assert msg.subject == "Laptop will not charge"
    assert msg.text == "The charger light stays off."


# --- Malformed structure ----------------------------------------------------


def test_nesting_too_deep_for_any_parser_keeps_headers_and_text() -> None:
    levels = 3000
    parts = ["Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    parts += [
        f"--b{i - 1}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n"
        for i in range(1, levels)
    ]
    parts.append(f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\nstill here\r\n")
    msg = parse_message("".join(parts).encode())
    assert msg.subject == "deep"
    assert "still here" in msg.text
    assert "body-as-text" in msg.defects


def test_nesting_is_walked_to_a_limited_depth() -> None:
    levels = 60
    parts = ["Content-Type: multipart/mixed; boundary=b0\r\n\r\n"]
    parts += [
        f"--b{i - 1}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n"
        for i in range(1, levels)
    ]
    msg = parse_message("".join(parts).encode())
    assert "too-deep" in msg.defects
    assert len(msg.part_types) < levels


def test_header_block_is_capped_in_total_and_in_count() -> None:
    many = [f"X-Filler-{i}: {'y' * 2000}" for i in range(MAX_HEADERS + 100)]
    msg = parse_message(message(*many))
    assert "header-truncated" in msg.defects
    assert len(msg.headers) < MAX_HEADERS
    assert sum(len(value) for _, value in msg.headers) <= MAX_HEADER_BYTES
    assert msg.text == "Hello."


@pytest.mark.parametrize("raw", [b"", b"\xff" * 64, b"\x00\r\n\r\n\x00", b"--\r\n:\r\n\r\n"])
def test_garbage_never_raises(raw: bytes) -> None:
    msg = parse_message(raw)
    assert msg.raw_size == len(raw)
    assert "\x00" not in msg.text


# Lines from which broken messages are assembled at random: MIME structure,
# odd charsets, encoded words, raw 8-bit bytes, NULs and bare CRs.
_PIECES = [
    b"From: =?utf-8?B?SsO2?= <jo@x.org>",
    b"From: <>",
    b"To: group:;, a@b.c",
    b"Subject: =?iso-2022-jp?B?GyRCLSEbKEI=?=",
    b"Subject: \xe9t\xe9 \x00",
    b"Content-Type: multipart/mixed; boundary=b",
    b"Content-Type: multipart/alternative; boundary=b",
    b"Content-Type: text/plain; charset=x-unknown",
    b"Content-Type: text/html; charset=ks_c_5601-1987",
    b"Content-Type: message/rfc822",
    b"Content-Type: application/ms-tnef; name=winmail.dat",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt",
    b"--b",
    b"--b--",
    b"",
    b"\r",
    b" folded continuation",
    b"> quoted line",
    b"On Mon, Bob wrote:",
    b'x\x9f>"=?=3D\xff\xfe',
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_any_assembly_of_broken_pieces_parses(pieces: list[bytes], eol: bytes) -> None:
    msg = parse_message(eol.join(pieces))
    assert "unparsed" not in msg.defects
    for value in strings_of(msg):
        value.encode("utf-8")
    assert "\x00" not in msg.subject + msg.text


# --- Addresses and ids --------------------------------------------------------


def test_null_sender_has_no_address() -> None:
    assert parse_message(message("From: <>", "Subject: x")).from_addr is None


def test_group_address_does_not_crash() -> None:
    msg = parse_message(message("From: a@x.org", "To: Staff: B@X.org, c@x.org;, d@y.org"))
    assert msg.to == ("b@x.org", "c@x.org", "d@y.org")


def test_addresses_are_lower_cased_and_display_name_decoded() -> None:
    msg = parse_message(message("From: =?utf-8?Q?J=C3=B6_Bloggs?= <Jo.Bloggs@Oakfield.SCH.uk>"))
    assert msg.from_addr == "jo.bloggs@oakfield.sch.uk"
    assert msg.from_name == "Jö Bloggs"


def test_message_id_keeps_brackets_and_loses_whitespace() -> None:
    msg = parse_message(message("Message-ID:\r\n   <abc.123@oakfield.sch.uk>  "))
    assert msg.message_id == "<abc.123@oakfield.sch.uk>"
    assert parse_message(message("Subject: no id")).message_id is None


def test_references_are_deduplicated_and_capped_keeping_root_and_latest() -> None:
    msg = fixture("references-long-list")
    assert len(msg.references) == MAX_IDS
    assert len(set(msg.references)) == MAX_IDS
    assert msg.references[0] == "<thread-0@oakfield.sch.uk>"
    assert msg.references[-1] == "<thread-119@oakfield.sch.uk>"
    assert msg.in_reply_to == ("<thread-119@oakfield.sch.uk>",)


# --- Dates and headers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "Tue, 10 Nov 2026 09:12:00 +0100",
            datetime(2026, 11, 10, 9, 12, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("Tue, 10 Nov 2026 09:12:00 -0000", datetime(2026, 11, 10, 9, 12, tzinfo=UTC)),
        ("10 Nov 2026 09:12 GMT", datetime(2026, 11, 10, 9, 12, tzinfo=UTC)),
        ("not a date at all", None),
        ("Tue, 99 Nov 2026 09:12:00 +0000", None),
    ],
)
def test_date_is_timezone_aware_or_none(value: str, expected: datetime | None) -> None:
    date = parse_message(message(f"Date: {value}")).date
    assert date == expected
    assert date is None or date.tzinfo is not None


def test_headers_are_lower_case_decoded_and_in_order() -> None:
    msg = parse_message(message("Subject: =?utf-8?B?Q2Fmw6k=?=", "X-Thing: one", "X-THING: two"))
    assert msg.headers == (("subject", "Café"), ("x-thing", "one"), ("x-thing", "two"))
    assert msg.header_all("X-Thing") == ("one", "two")


def test_truncated_message_is_parsed_from_headers_only() -> None:
    raw = (MAIL / "attachments-named-unnamed-and-encoded.eml").read_bytes()
    head = raw.split(b"\n\n", 1)[0] + b"\n\n"
    msg = parse_message(head, truncated=True, raw_size=20_000_000)
    assert msg.truncated
    assert msg.raw_size == 20_000_000
    assert msg.subject == "Files for the new starter"
    assert msg.from_addr == "bursar@oakfield.sch.uk"
    assert msg.content_type == "multipart/mixed"
    assert (msg.text, msg.attachments) == ("", ())


def test_raw_size_defaults_to_length_of_input() -> None:
    raw = message("Subject: size")
    assert parse_message(raw).raw_size == len(raw)


# --- Body and attachments -----------------------------------------------------------


def test_html_only_message_gives_readable_text() -> None:
    msg = fixture("html-only-with-link")
    assert msg.html is not None and "<a href" in msg.html
    assert "[our admissions page](https://oakfield.sch.uk/admissions)" in msg.text
    assert "<p>" not in msg.text and "color: red" not in msg.text
    # One paragraph stays one line: no wrapping.
    assert any(
        line.endswith("about nine o'clock.") and "admissions form" in line
        for line in msg.text.splitlines()
    )


def test_part_types_are_listed_depth_first() -> None:
    msg = fixture("attached-message")
    assert msg.content_type == "multipart/mixed"
    assert msg.part_types == ("multipart/mixed", "text/plain", "message/rfc822", "text/plain")


def test_attachment_metadata_and_content() -> None:
    msg = fixture("attachments-named-unnamed-and-encoded")
    pdf = msg.attachments[0]
    assert (pdf.filename, pdf.content_type, pdf.size) == ("timetable.pdf", "application/pdf", 226)
    assert pdf.content is not None and pdf.content.startswith(b"%PDF-1.4")
    assert msg.text == "The new starter needs an account; their details are attached."


def test_unnamed_attachment_gets_a_default_name() -> None:
    msg = fixture("attachments-named-unnamed-and-encoded")
    assert msg.attachments[1].filename == "attachment-2.png"


def test_rfc2231_and_encoded_word_filenames_are_decoded() -> None:
    names = [a.filename for a in fixture("attachments-named-unnamed-and-encoded").attachments]
    assert names[2:] == ["résumé.txt", "Büro notes.docx"]


def test_attachment_over_the_limit_keeps_metadata_without_content() -> None:
    msg = fixture("attachments-named-unnamed-and-encoded", max_attachment_bytes=100)
    pdf, png = msg.attachments[0], msg.attachments[1]
    assert (pdf.size, pdf.content) == (226, None)
    assert png.content is not None


def test_attached_message_is_kept_as_eml_named_for_its_subject() -> None:
    msg = fixture("attached-message")
    (attached,) = msg.attachments
    assert attached.filename == "Printer on fire.eml"
    assert attached.content_type == "message/rfc822"
    assert attached.content is not None and b"The printer in room 4 is smoking." in attached.content
    # The attached message's text is not the forwarder's own words.
    assert "smoking" not in msg.text


def test_winmail_dat_is_kept_and_its_files_unpacked() -> None:
    msg = fixture("outlook-winmail-dat")
    names = [a.filename for a in msg.attachments]
    assert names == ["winmail.dat", "Staff rota.xlsx", "notes.txt"]
    notes = msg.attachments[2]
    assert notes.content == b"Room 12 projector flickers.\n"
    assert notes.content_type == "text/plain"


# --- the sender is the addr-spec; display text never is (issue 11, item 2) -------------


def _from(value: str) -> tuple[str | None, bool, str]:
    raw = f"From: {value}\r\nTo: x@example.com\r\nSubject: s\r\n\r\nhello\r\n".encode()
    msg = parse_message(raw)
    return msg.from_addr, msg.from_suspect, msg.from_name


def test_an_address_as_the_display_name_is_not_the_sender() -> None:
    found = _from("sam.okafor@westshire.gov.uk <attacker@evil.example>")
    assert found[:2] == ("attacker@evil.example", True)


def test_a_quoted_address_as_the_display_name_is_suspect() -> None:
    found = _from('"sam.okafor@westshire.gov.uk" <attacker@evil.example>')
    assert found[:2] == ("attacker@evil.example", True)


def test_an_encoded_address_in_the_display_name_is_suspect() -> None:
    found = _from("=?utf-8?q?sam.okafor=40westshire.gov.uk?= <attacker@evil.example>")
    assert found[:2] == ("attacker@evil.example", True)


def test_angle_brackets_inside_a_quoted_name_are_not_the_addr_spec() -> None:
    found = _from('"Sam <sam.okafor@westshire.gov.uk>" <attacker@evil.example>')
    assert found[:2] == ("attacker@evil.example", True)


def test_two_addresses_in_from_are_suspect() -> None:
    assert _from("Sam <sam@a.example>, Lucy <lucy@a.example>")[1]
    assert _from("Sam <sam@a.example> <lucy@a.example>")[1]


def test_ordinary_from_fields_are_not_suspect() -> None:
    assert _from("Sam Okafor <sam@a.example>") == ("sam@a.example", False, "Sam Okafor")
    assert _from('"Okafor, Sam" <sam@a.example>') == ("sam@a.example", False, "Okafor, Sam")
    assert _from("sam@a.example (Sam Okafor)") == ("sam@a.example", False, "Sam Okafor")
    # Outlook's habit of repeating the address as its own display name.
    assert _from("'sam@a.example' <sam@a.example>")[:2] == ("sam@a.example", False)
    assert _from("sam@a.example")[:2] == ("sam@a.example", False)


def test_a_long_display_name_of_near_addresses_is_not_an_address() -> None:
    assert _from("a@ " * 2000 + "<x@y.example>")[:2] == ("x@y.example", False)


_TWO_PARTS = (
    b"From: a@school.example\r\nSubject: printer\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"VGhlIHByaW50ZXIgaW4gUm9vbSA0IGlzIGphbW1lZCDigJMgcGxlYXNlIGhlbHAu\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"<p>The printer in Room 4 is jammed =E2=80=93 please help.</p>\r\n"
    b"--b--\r\n"
)


def test_body_parts_are_decoded_once_by_mail_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    # mail-parser's pass is the decode: the body walk takes each part's text
    # from it and decodes none again (counted at the one place that would).
    from mailbot.mail import mimewalk

    calls: list[bytes] = []
    original = mimewalk.decode_bytes

    def counting(data: bytes, charset: str | None = None) -> str:
        calls.append(data)
        return original(data, charset)

    monkeypatch.setattr(mimewalk, "decode_bytes", counting)
    msg = parse_message(_TWO_PARTS)
    assert msg.text == "The printer in Room 4 is jammed \u2013 please help."
    assert msg.html == "<p>The printer in Room 4 is jammed \u2013 please help.</p>"
    assert calls == []


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        # mail-parser leaves ISO-2022-JP as its escape sequences.
        ("iso-2022-jp", "テスト".encode("iso-2022-jp"), "テスト"),
        # Latin-1 labels on Windows text: mail-parser reads \x93 \x94 as C1 controls.
        ("iso-8859-1", b"\x93urgent\x94", "\u201curgent\u201d"),
        # GB2312 labels on GBK text: mail-parser falls back to UTF-8 with U+FFFD.
        ("gb2312", "镕".encode("gbk"), "镕"),
    ],
)
def test_parts_mail_parser_misreads_are_decoded_again(
    charset: str, body: bytes, expected: str
) -> None:
    raw = (
        b"From: a@school.example\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\n" + body + b"\r\n"
    )
    assert parse_message(raw).text == expected
