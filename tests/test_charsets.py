"""Tests for decoding bytes and header values into clean Unicode."""

from __future__ import annotations

import pytest

from mailbot.mail.charsets import clean, codec_for, decode_bytes, decode_header


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("x-mac-cyrillic", "mac-cyrillic"),
        ("X-GBK", "gb18030"),
        ("ks_c_5601-1987", "cp949"),
        ('"ISO-8859-1"', "cp1252"),
        ("X-UNKNOWN", None),
        ("unknown", None),
        ("ansi_x3.110-1983", None),
        ("", None),
    ],
)
def test_charset_labels_map_to_codecs(label: str, codec: str | None) -> None:
    assert codec_for(label) == codec


def test_declared_charset_is_used() -> None:
    assert decode_bytes("Привет".encode("koi8-r"), "koi8-r") == "Привет"


def test_wrong_declared_charset_falls_back_to_utf8() -> None:
    assert decode_bytes("Grüße".encode(), "us-ascii") == "Grüße"


def test_undeclared_8bit_text_falls_back_to_cp1252() -> None:
    assert decode_bytes("Håvard “quoted”".encode("cp1252")) == "Håvard “quoted”"


def test_utf8_with_one_damaged_byte_is_still_utf8() -> None:
    assert decode_bytes("Здравствуйте".encode() + b"\xaa") == "Здравствуйте\ufffd"


def test_gb2312_label_reads_characters_only_gbk_has() -> None:
    assert decode_bytes("镕".encode("gbk"), "gb2312") == "镕"


def test_undeclared_iso_2022_jp_is_recognised() -> None:
    assert decode_bytes("日本語".encode("iso2022_jp")) == "日本語"


def test_iso_2022_jp_vendor_characters_are_decoded() -> None:
    # ESC $ B, then row 13 cell 1 (NEC's CIRCLED DIGIT ONE), then ESC ( B.
    assert decode_bytes(b"\x1b$B-!\x1b(B", "iso-2022-jp") == "①"


def test_iso_2022_jp_label_on_8bit_bytes_falls_back() -> None:
    assert decode_bytes(b"\x1b$B\xe9\xe9\x1b(B", "iso-2022-jp") == "\x1b$Béé\x1b(B"


def test_clean_recovers_escaped_bytes_and_drops_nul() -> None:
    escaped = "H\udce5vard\x00".encode("utf-8", "surrogateescape").decode(
        "ascii", "surrogateescape"
    )
    assert clean(escaped) == "Håvard"


def test_clean_drops_surrogates_that_are_not_bytes() -> None:
    assert clean("a\ud800b") == "ab"


def test_encoded_words_are_decoded_and_joined() -> None:
    value = "=?utf-8?Q?Caf=C3=A9?= =?utf-8?B?IG9wZW4=?= today"
    assert decode_header(value) == "Café open today"


def test_multibyte_character_split_across_encoded_words() -> None:
    data = "日本".encode()

    def word(chunk: bytes) -> str:
        return "=?utf-8?Q?" + "".join(f"={b:02X}" for b in chunk) + "?="

    value = f"{word(data[:2])} {word(data[2:])}"
    assert decode_header(value) == "日本"


def test_encoded_word_with_unknown_charset_falls_back() -> None:
    assert decode_header("=?x-unknown?Q?Gr=C3=BC=C3=9Fe?=") == "Grüße"


def test_broken_base64_word_is_kept_as_written_beside_good_ones() -> None:
    value = "=?utf-8?Q?ok?= =?UTF-8?B?nnDusSNdG?="
    assert decode_header(value) == "ok=?UTF-8?B?nnDusSNdG?="


def test_base64_word_missing_its_padding_is_read() -> None:
    assert decode_header("=?utf-8?B?Q2Fmw6k?=") == "Café"


def test_folding_and_control_characters_leave_one_line() -> None:
    assert decode_header("Printer\r\n\tbroken\x07 again") == "Printer broken again"
