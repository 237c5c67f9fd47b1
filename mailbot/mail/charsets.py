"""Decode message bytes and header values into clean Unicode, whatever charset they claim."""

from __future__ import annotations

import base64
import codecs
import contextlib
import email.errors
import email.header
import quopri
import re

# Charset names seen in real mail that Python does not know, or knows only as
# a narrower charset than the one senders actually use (browsers read these
# labels the same way, so mail written for them decodes as intended).
_ALIASES = {
    "x-mac-cyrillic": "mac_cyrillic",
    "x-gbk": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "windows-31j": "cp932",
    "big5": "big5hkscs",
    "iso-2022-jp-ms": "iso2022_jp_ext",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "unicode-1-1-utf-7": "utf-7",
}
# Labels that say only that the sender did not know: try the fallbacks instead.
_UNKNOWN = frozenset({"unknown", "x-unknown", "unknown-8bit", "x-user-defined", "default"})
_SURROGATES = re.compile("[\ud800-\udfff]")
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# Control characters have no place in a one-line header value.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")


def clean(text: str) -> str:
    """Return ``text`` as valid Unicode without NULs (neither UTF-8 nor PostgreSQL take them).

    Lone surrogates usually stand for raw bytes that Python's parser could not
    decode; those are decoded again with the fallback charsets before any
    surrogate still left is dropped.
    """
    if _SURROGATES.search(text):
        # Surrogates outside the escape range cannot be bytes; those are dropped.
        with contextlib.suppress(UnicodeEncodeError):
            text = _decode(text.encode("utf-8", "surrogateescape"), None)
        text = _SURROGATES.sub("", text)
    return text.replace("\x00", "")


# What a text decoded by Python's codec for the declared label shows when the
# label was wrong, measured over the corpus (bench/parse.py --compare): the
# replacement character of a UTF-8 fallback, the escape sequences of an
# ISO-2022 text left undecoded, C1 controls where cp1252 bytes were read as
# Latin-1, and lone surrogates of raw bytes.
_MISREAD = re.compile("[\x1b\x80-\x9f\ufffd\ud800-\udfff]")


def misread(text: str) -> bool:
    """Whether ``text``, decoded elsewhere by the declared label, shows it was read wrongly."""
    return _MISREAD.search(text) is not None


def codec_for(charset: str | None) -> str | None:
    """Python's codec for a MIME charset label, or None when it is unknown or meaningless."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if not name or name in _UNKNOWN:
        return None
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a NUL in the label.
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few damaged bytes (a name cut mid-character, say), else None.

    Text in an 8-bit charset almost never contains valid multi-byte UTF-8
    sequences, so many of them against few bad bytes means damaged UTF-8.
    """
    valid = len(_UTF8_SEQUENCE.findall(data))
    if not valid:
        return None
    text = data.decode("utf-8", "replace")
    return text if text.count("\ufffd") * 4 <= valid else None


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    """One JIS X 0208 character (two 7-bit bytes) as its Shift_JIS bytes."""
    s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    # Odd rows map to the low half of the trail byte range, skipping 0x7F.
    s2 = j2 + 0x1F + (j2 >= 0x60) if j1 % 2 else j2 + 0x7E
    return bytes((s1, s2))


def _iso2022jp_vendor(data: bytes) -> str | None:
    """ISO-2022-JP with the Microsoft/NEC extensions (circled digits and the like).

    Python's codecs reject those characters; re-encoding the text as
    Shift_JIS and decoding it as cp932, which has them, reads it as Windows
    and most Japanese mail clients do.
    """
    if not data.isascii():
        return None  # ISO-2022-JP is a 7-bit encoding.
    out = bytearray()
    mode = b"B"  # ASCII
    pos = 0
    while pos < len(data):
        if data[pos] == 0x1B:
            escape = data[pos + 1 : pos + 3]
            if escape in (b"$@", b"$B"):
                mode = b"J"
            elif escape in (b"(B", b"(J"):
                mode = b"B"
            elif escape == b"(I":
                mode = b"I"
            else:
                return None
            pos += 3
        elif mode == b"J" and data[pos] > 0x20 and pos + 1 < len(data):
            out += _jis_pair_to_sjis(data[pos], data[pos + 1])
            pos += 2
        else:
            out.append(data[pos] | 0x80 if mode == b"I" and data[pos] > 0x20 else data[pos])
            pos += 1
    try:
        return bytes(out).decode("cp932")
    except UnicodeDecodeError:
        return None


def _decode(data: bytes, charset: str | None) -> str:
    codec = codec_for(charset)
    if codec is None and b"\x1b$" in data:
        # Old Japanese mail often sends ISO-2022-JP without saying so.
        codec = "iso2022_jp"
    if codec is not None and codec.startswith("iso2022_jp"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            vendor = _iso2022jp_vendor(data)
            if vendor is not None:
                return vendor
    for name in (codec, "utf-8"):
        if name is None:
            continue
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    # cp1252 maps all but five byte values, so text in any 8-bit Western
    # charset stays readable; the five become replacement characters.
    return _mostly_utf8(data) or data.decode("cp1252", "replace")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, then UTF-8, then cp1252."""
    return clean(_decode(data, charset))


def _word_bytes(encoding: str, payload: str) -> bytes:
    """The bytes of one encoded word; ValueError when they cannot be read."""
    if encoding.lower() == "q":
        return quopri.decodestring(payload.encode("ascii", "replace"), header=True)
    usable = re.sub(r"[^A-Za-z0-9+/]", "", payload)
    if len(usable) % 4 == 1:
        raise ValueError("not base64")  # A character is missing or extra: unreadable.
    # Missing padding is common and harmless.
    return base64.b64decode(usable + "=" * (-len(usable) % 4))


def _decode_words_one_by_one(value: str) -> str:
    """Decode each encoded word on its own, leaving any that cannot be read as written."""

    def word(match: re.Match[str]) -> str:
        charset, encoding, payload = match.groups()
        try:
            return _decode(_word_bytes(encoding, payload), charset.split("*", 1)[0])
        except ValueError:  # binascii.Error is a ValueError.
            return match.group(0)

    # Whitespace between two encoded words is not part of the text (RFC 2047).
    joined = re.sub(r"(\?=)\s+(=\?)", r"\1\2", value)
    return _ENCODED_WORD.sub(word, joined)


def decode_header(value: str | None) -> str:
    """Decode a header value: encoded words, raw 8-bit bytes, folding; one clean line."""
    if not value:
        return ""
    # Python's byte parser keeps raw 8-bit header bytes as surrogate escapes.
    text = clean(value)
    if "=?" not in text and "\x1b$" not in text:
        # No encoded word and no ISO-2022 escape (most header values): what
        # the decoder below would hand back is the text itself.
        return clean(" ".join(_CONTROLS.sub("", text).split()))
    try:
        parts = email.header.decode_header(text)
    except (email.errors.HeaderParseError, ValueError, LookupError):
        parts = [(_decode_words_one_by_one(text), None)]
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(_decode(chunk.encode(), None) if "\x1b$" in chunk else chunk)
        elif charset is None:
            # decode_header hands back the text between encoded words as
            # raw-unicode-escape bytes; that reverses it exactly.
            out.append(chunk.decode("raw-unicode-escape", "replace"))
        else:
            out.append(_decode(chunk, charset.split("*", 1)[0]))
    return clean(" ".join(_CONTROLS.sub("", "".join(out)).split()))
