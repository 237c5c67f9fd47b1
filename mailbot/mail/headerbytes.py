"""Undeclared 8-bit header text: its charset detected (charset-normalizer), re-encoded as UTF-8."""

from __future__ import annotations

import re
import unicodedata

from charset_normalizer import from_bytes

# The charsets senders' mail programs actually write undeclared into headers
# (Windows code pages and their ISO and Unix cousins, and the East Asian
# multi-byte sets).  Left to itself the detector also weighs rare code pages
# (cp1006, iso8859_10, mac_roman) that win on short text and are almost never
# right in a school's mail.
_CANDIDATES = [
    "cp1252",
    "iso8859_15",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "koi8_u",
    "cp1253",
    "iso8859_7",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
    "cp932",
    "euc_jp",
    "gb18030",
    "big5hkscs",
    "cp949",
]
# What mailbot assumed before it detected anything, and what it still assumes
# when the detector finds nothing better: cp1252 maps all but five bytes, so
# Western text (most of a British council's mail) reads correctly.
_DEFAULT = "cp1252"
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_LINE = re.compile(rb"[^\n]*\n|[^\n]+")


def _utf8ish(line: bytes) -> bool:
    """Whether ``line`` is UTF-8, or UTF-8 with a few damaged bytes (left to the usual decode)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        valid = len(_UTF8_SEQUENCE.findall(line))
        return valid > 0 and line.decode("utf-8", "replace").count("\ufffd") * 4 <= valid
    return True


def _group(char: str) -> str:
    """The script of a letter, with Japanese's three scripts (used together) as one."""
    script = unicodedata.name(char, "").split(" ", 1)[0]
    return "CJK" if script in ("HIRAGANA", "KATAKANA", "CJK") else script


def _oddness(text: str) -> int:
    """How often a letter changes script, or case from lower to upper, inside a word.

    Real words rarely do either; the same bytes read in the wrong charset
    (KOI8-R as cp1251 gives "нЕ ПЮАНРЮЕР", cp1252 as Big5 gives "Si滱") do
    all the time; so do vowel signs with no letter to sit on and half-width
    katakana.  One linear pass.
    """
    odd = 0
    previous = ""
    for char in text:
        if unicodedata.category(char).startswith("M"):
            # A vowel sign or point needs a letter to sit on.
            odd += not previous
            continue
        if not char.isalpha():
            previous = ""
            continue
        # Half-width katakana is a 1980s terminal form; in today's mail it is
        # almost always bytes of another charset read as Shift_JIS.
        odd += _group(char) == "HALFWIDTH"
        if previous and (
            _group(char) != _group(previous) or (previous.islower() and char.isupper())
        ):
            odd += 1
        previous = char
    return odd


def detect(data: bytes) -> str:
    """The charset of undeclared 8-bit ``data``: charset-normalizer's choice, cp1252 on a tie.

    A few words of text fit many charsets equally well, and charset-normalizer
    then reports a tie.  Among the charsets it ranks best, the reading with the
    fewest words that change script or case mid-word wins; when the Western
    default is among the best of those, the default stands, so short Western
    names (Siân, Müller) are never read as Chinese.
    """
    results = list(from_bytes(data, cp_isolation=_CANDIDATES))
    if not results:
        return _DEFAULT
    least_chaos = min(result.chaos for result in results)
    tied = [(_oddness(str(r)), r) for r in results if r.chaos <= least_chaos]
    fewest = min(odd for odd, _ in tied)
    best = [r for odd, r in tied if odd == fewest]
    # Charsets that read the bytes identically are merged into one result,
    # so cp1252 may be listed under another name's result.
    if any(_DEFAULT in r.could_be_from_charset for r in best):
        return _DEFAULT
    return str(best[0].encoding)


def headers_as_utf8(head: bytes) -> bytes:
    """``head`` (a header block) with each line in an undeclared 8-bit charset re-encoded as UTF-8.

    RFC 2047 wants 8-bit header text in encoded words, but many mail programs
    write it raw in their own code page.  Lines that are ASCII or UTF-8 are
    kept byte for byte; the other 8-bit lines are pooled, since a message's
    Subject and From name are almost always in the same charset and more
    text makes a surer guess, and decoded with the one charset found for
    them.  Python's parser then reads UTF-8 everywhere, as mailbot's header
    decoding expects.  One pass over the block, plus one detection over the
    pooled lines (the block is bounded by MAX_HEADER_BYTES).
    """
    if head.isascii():
        return head
    lines = _LINE.findall(head)
    foreign = [i for i, line in enumerate(lines) if not line.isascii() and not _utf8ish(line)]
    if not foreign:
        return head
    codec = detect(b"".join(lines[i] for i in foreign))
    for i in foreign:
        lines[i] = lines[i].decode(codec, "replace").encode("utf-8")
    return b"".join(lines)
