"""The parse stage on named corpus files: charsets, malformed structure, addresses, dates."""

from __future__ import annotations

import pytest
from support import CORPUS

from mailbot.mail.message import ParsedMessage
from mailbot.mail.parse import MAX_HEADER_VALUE, parse_message


def corpus(name: str) -> ParsedMessage:
    return parse_message((CORPUS / name).read_bytes())


def strings_of(msg: ParsedMessage) -> list[str]:
    """Every string a ParsedMessage holds."""
    found = [msg.subject, msg.from_name, msg.text, msg.new_text, msg.html or ""]
    found += [msg.from_addr or "", msg.message_id or "", msg.content_type]
    found += [*msg.to, *msg.cc, *msg.reply_to, *msg.in_reply_to, *msg.references]
    found += [*msg.part_types, *msg.defects]
    found += [s for pair in msg.headers for s in pair]
    found += [s for a in msg.attachments for s in (a.filename, a.content_type)]
    return found


def test_iso_2022_jp_body_and_subject_are_decoded() -> None:
    msg = corpus("charset/mailgem--japanese_iso_2022.eml")
    assert msg.subject == "まみむめも"
    assert "すみません" in msg.text
    assert "\x1b" not in msg.text


def test_iso_2022_jp_subject_with_vendor_characters_is_decoded() -> None:
    # Circled digits are Microsoft/NEC additions that Python's codec rejects.
    assert corpus("charset/redmine--subject_japanese_3.eml").subject == "① 丸数字テスト"


def test_hebrew_subject_is_kept() -> None:
    subject = corpus("charset/phpmime--issue149.eml").subject
    assert subject.startswith("מענה")
    assert subject.endswith("Invoice 02722027")


def test_unknown_charset_alias_is_mapped() -> None:
    msg = corpus("charset/phpmime--issue230.eml")  # declares x-mac-cyrillic
    assert any("\u0400" <= ch <= "\u04ff" for ch in msg.text)


def test_raw_8bit_sender_name_is_decoded_without_surrogates() -> None:
    msg = corpus("reply/eudora--rt--new-ticket-from-iso-8859-1-full.eml")
    assert msg.from_name == "Wilhelmsen Håvard"
    assert corpus("list-or-bulk/flanker--from-encoding.eml").from_name == "Ingo Lütkebohle"


def test_strings_never_hold_lone_surrogates() -> None:
    for name in ("list-or-bulk/flanker--from-encoding.eml", "malformed/mailgem--utf8_headers.eml"):
        for value in strings_of(corpus(name)):
            value.encode("utf-8")


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    msg = corpus("malformed/mailgem--utf8_headers.eml")
    assert msg.subject == "Säying Hello"
    assert msg.from_name == "Jöhn Doe"


@pytest.mark.parametrize("name", ["dovecot--malformed-001.eml", "dovecot--malformed-013.eml"])
def test_message_mail_parser_cannot_read_is_parsed_by_the_standard_library(name: str) -> None:
    msg = corpus(f"malformed/{name}")
    assert "fallback-parser" in msg.defects
    assert msg.content_type == "multipart/mixed"
    assert "unparsed" not in msg.defects


def test_fallback_parse_still_finds_the_body() -> None:
    assert "hello, world" in corpus("malformed/dovecot--malformed-013.eml").text


def test_broken_boundary_falls_back_to_raw_body() -> None:
    msg = corpus("malformed/dovecot--malformed-017.eml")
    assert "broken-boundary" in msg.defects
    assert "--boundary" in msg.text
    assert msg.content_type == "multipart/mixed"


def test_illegal_boundary_still_yields_the_text() -> None:
    msg = corpus("malformed/mailgem--raw_email_with_illegal_boundary.eml")
    assert "This is an outlook test" in msg.text


def test_header_bomb_fields_are_cut_not_lost() -> None:
    msg = corpus("malformed/mimekit--stack-overflow.eml")
    assert "header-truncated" in msg.defects
    assert msg.subject == "Message Subject"
    assert msg.message_id is not None
    assert all(len(value) <= MAX_HEADER_VALUE for _, value in msg.headers)


def test_utf8_byte_order_mark_does_not_hide_the_headers() -> None:
    msg = corpus("malformed/mimekit--feedback-report.eml")
    assert msg.from_addr == "abusedesk@example.com"


def test_cr_only_line_endings_are_read() -> None:
    msg = corpus("malformed/sisimai--mac-rfc3834-01.eml")
    assert msg.subject == "Away until May 5"
    assert "\r" not in msg.text
    assert msg.text.startswith("I am currently away")


def test_crlf_is_normalised_to_newline() -> None:
    msg = corpus("reply/thunderbird--mailgem--raw_email_reply.eml")
    assert "\r" not in msg.text
    assert msg.text.startswith("Message body")


def test_null_sender_of_a_corpus_bounce_has_no_address() -> None:
    assert corpus("bounce/cpython--msg_43.eml").from_addr is None


def test_empty_group_address_in_a_corpus_bounce_does_not_crash() -> None:
    assert corpus("bounce/mimekit--delivery-status.eml").to == ()


def test_sender_without_angle_brackets_is_recovered() -> None:
    assert corpus("new-request/mailgem--mix_caps_content_type.eml").from_addr == "bb@bug.com"


def test_in_reply_to_loop_parses() -> None:
    msg = corpus("malformed/notmuch--broken-loop-loop-12.eml")
    assert msg.message_id == "<mid-loop-12@example.org>"
    assert msg.in_reply_to == ("<mid-loop-21@example.org>",)


def test_unparseable_corpus_date_is_none() -> None:
    assert corpus("malformed/mailgem--bad_date_header.eml").date is None


def test_unreadable_winmail_dat_is_kept_as_it_is() -> None:
    msg = corpus("malformed/redmine--no_subject_header.eml")
    assert [a.filename for a in msg.attachments] == ["winmail.dat"]
    assert "tnef-unreadable" in msg.defects


def test_new_text_has_the_quoted_history_removed() -> None:
    msg = corpus("reply/gmail--talon--gmail.eml")
    assert msg.new_text.strip() == "Hello"
    assert "wrote:" in msg.text
