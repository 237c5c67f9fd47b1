"""Undeclared 8-bit header text: detected with charset-normalizer, not assumed to be cp1252."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import write_config_file

from mailbot.cli.main import main
from mailbot.mail.headerbytes import detect, headers_as_utf8
from mailbot.mail.parse import parse_message


def raw_message(subject: str, name: str, charset: str) -> bytes:
    """A school's email whose Subject and From name are raw, undeclared bytes in ``charset``."""
    return (
        b"From: " + name.encode(charset) + b" <head@oakfield-primary.westshire.sch.uk>\r\n"
        b"To: ictsupport@westshire.gov.uk\r\n"
        b"Subject: " + subject.encode(charset) + b"\r\n"
        b"Date: Mon, 23 Nov 2026 09:02:11 +0000\r\n"
        b"Message-ID: <raw-8bit-" + charset.encode() + b"@oakfield-primary.westshire.sch.uk>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"The internet has been very slow in the ICT suite since this morning.\r\n"
    )


@pytest.mark.parametrize(
    ("subject", "name", "charset"),
    [
        ("Не работает интернет в школе", "Иван Петров", "koi8-r"),
        ("Не работает интернет в кабинете информатики", "Ольга Смирнова", "cp1251"),
        ("Δεν λειτουργεί το διαδίκτυο στο σχολείο", "Ελένη Παπαδοπούλου", "iso-8859-7"),
        ("Drukarka nie działa, proszę o pomoc", "Zażółć Gęślą", "iso-8859-2"),
        ("インターネットが使えません", "山田太郎", "shift_jis"),
        ("学校的网络无法使用", "王小明", "gb18030"),
    ],
)
def test_undeclared_8bit_subject_and_name_are_read_in_their_charset(
    subject: str, name: str, charset: str
) -> None:
    msg = parse_message(raw_message(subject, name, charset))
    assert msg.subject == subject
    assert msg.from_name == name
    assert msg.from_addr == "head@oakfield-primary.westshire.sch.uk"


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("Drucker im Büro funktioniert nicht, Grüße", "Jürgen Müller"),
        ("Argraffydd ddim yn gweithio – diolch", "Siân Hâf"),
        ("Café", "Zoë"),
    ],
)
def test_western_text_and_short_names_still_read_as_cp1252(subject: str, name: str) -> None:
    msg = parse_message(raw_message(subject, name, "cp1252"))
    assert (msg.subject, msg.from_name) == (subject, name)


def test_ascii_and_utf8_header_lines_are_kept_byte_for_byte() -> None:
    head = "Subject: Привет, école\r\nFrom: a@b.c\r\n".encode()
    assert headers_as_utf8(head) == head
    # Only the line in a legacy charset is re-encoded; its neighbours are untouched.
    mixed = b"X-A: plain\r\nSubject: " + "Не работает интернет".encode("koi8-r") + b"\r\n"
    assert headers_as_utf8(mixed) == "X-A: plain\r\nSubject: Не работает интернет\r\n".encode()


def test_detect_falls_back_to_cp1252_on_a_tie() -> None:
    assert detect("Siân".encode("cp1252")) == "cp1252"
    assert detect("Не работает интернет в школе".encode("koi8-r")) == "koi8_r"


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        # RT's test message (corpus: malformed/rt--russian-subject-no-content-type.eml).
        ("тест тест", "koi8_r"),
        ("Привет", "koi8_r"),
        ("Привет", "cp1251"),
        ("СРОЧНО: не работает", "cp1251"),
        ("Zażółć gęślą jaźń", "cp1250"),
    ],
)
def test_a_few_words_are_read_in_their_charset(text: str, charset: str) -> None:
    data = text.encode(charset)
    assert data.decode(detect(data)) == text


@pytest.mark.servers
def test_koi8_subject_reaches_the_call_through_dovecot(
    tmp_path: Path, dovecot: Any, smtp_sink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'mailbot.db'}"
    config = write_config_file(tmp_path, url=url, imap=dovecot, smtp=smtp_sink, timeout=5)
    subject = "Не работает интернет в школе"
    dovecot.deliver(raw_message(subject, "Иван Петров", "koi8-r"))
    now = "2026-11-23T09:05"
    assert main(["--config", str(config), "--now", now, "run", "--once"]) == 0
    assert "open_call" in capsys.readouterr().out
    assert main(["--config", str(config), "calls", "show", "ICT-000001", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["subject"] == subject
