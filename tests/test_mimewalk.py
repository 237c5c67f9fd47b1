"""Tests for walking a MIME tree into text, HTML, attachments and part types."""

from __future__ import annotations

import email
from email import policy
from email.message import Message

from mailbot.mail.mimewalk import MAX_FILENAME, MAX_PARTS, Body, read_body


def tree(*parts: str, boundary: str = "b") -> Message:
    """A multipart/mixed message holding ``parts`` (each its headers, a blank line, a body)."""
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    raw = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{body}"
    return email.message_from_bytes(raw.encode(), policy=policy.compat32)


def walk(msg: Message, limit: int = 1000) -> Body:
    return read_body(msg, max_attachment_bytes=limit)


def test_plain_text_is_preferred_to_html() -> None:
    body = walk(
        tree(
            "Content-Type: multipart/alternative; boundary=alt\r\n\r\n"
            "--alt\r\nContent-Type: text/plain\r\n\r\nPlain words\r\n"
            "--alt\r\nContent-Type: text/html\r\n\r\n<p>HTML words</p>\r\n--alt--"
        )
    )
    assert body.text == "Plain words"
    assert body.html == "<p>HTML words</p>"


def test_named_inline_text_is_read_when_there_is_no_other_text() -> None:
    body = walk(
        tree('Content-Type: text/plain\r\nContent-Disposition: inline; filename="a.txt"\r\n\r\nHi')
    )
    assert body.text == "Hi"
    assert [a.filename for a in body.attachments] == ["a.txt"]


def test_delivery_report_is_the_text_of_a_message_with_no_other() -> None:
    report = "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n"
    body = walk(tree(report + "\r\nAction: failed\r\nStatus: 5.1.1"))
    assert "Status: 5.1.1" in body.text
    assert body.attachments[0].content_type == "message/delivery-status"
    assert body.attachments[0].filename == "attachment-1.txt"


def test_file_names_lose_folders_and_long_ones_keep_their_extension() -> None:
    long_name = "x" * 300 + ".pdf"
    body = walk(
        tree(
            'Content-Type: application/pdf; name="C:\\\\Users\\\\anna\\\\report.pdf"\r\n\r\n%PDF',
            f'Content-Type: application/pdf; name="{long_name}"\r\n\r\n%PDF',
        )
    )
    first, second = (a.filename for a in body.attachments)
    assert first == "report.pdf"
    assert len(second) == MAX_FILENAME
    assert second.endswith("x.pdf")


def test_parts_beyond_the_limit_are_not_walked() -> None:
    body = walk(tree(*["Content-Type: image/png\r\n\r\nx"] * (MAX_PARTS + 5)))
    assert "too-many-parts" in body.defects
    assert len(body.part_types) == MAX_PARTS


def test_parts_of_an_attached_message_are_typed_but_not_read() -> None:
    inner = (
        "Content-Type: message/rfc822\r\n\r\n"
        "Subject: Old\r\nContent-Type: text/plain\r\n\r\nOld words"
    )
    body = walk(tree("Content-Type: text/plain\r\n\r\nNew words", inner))
    assert body.text == "New words"
    assert body.part_types == ("multipart/mixed", "text/plain", "message/rfc822", "text/plain")
    assert [a.filename for a in body.attachments] == ["Old.eml"]


def test_part_with_an_unusable_charset_parameter_is_still_read() -> None:
    # Python raises reading an 8-bit payload whose charset parameter is
    # RFC 2231-encoded or holds a NUL.
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset*=utf-8''utf-8\r\n\r\ncaf\xc3\xa9\r\n"
        b'--b\r\nContent-Type: text/plain; charset="utf\x008"\r\n\r\nna\xc3\xafve\r\n--b--\r\n'
    )
    body = walk(email.message_from_bytes(raw, policy=policy.compat32))
    assert body.text == "café\nnaïve"
    assert "unreadable-part" not in body.defects
