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
# They are listed likeliest first: a tie goes to the earlier.
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
    "cp932",
    "euc_jp",
    "gb18030",
    "big5hkscs",
    "cp949",
    "cp874",
]
# What mailbot assumed before it detected anything, and what it still assumes
# when the detector finds nothing better: cp1252 maps all but five bytes, so
# Western text (most of a British council's mail) reads correctly.
_DEFAULT = "cp1252"
_RANK = {name: i for i, name in enumerate(_CANDIDATES)}
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


# Typographic punctuation that sits inside real words.
_IN_WORD = frozenset("\u2019\u2010\u2011\u00b7")


def _oddness(text: str) -> int:
    """How many places in ``text`` look like bytes read in the wrong charset.

    Real words rarely change script, or case from lower to upper, mid-word;
    the same bytes read in the wrong charset (KOI8-R as cp1251 gives
    "нЕ ПЮАНРЮЕР", cp1252 as Big5 gives "Si滱") do all the time.  So do
    vowel signs with no letter to sit on, non-ASCII punctuation or digits
    straight after a letter, and half-width katakana.  Text whose non-ASCII
    letters are all capitals counts its capitals after a word's first:
    KOI8-R puts lower case where cp1251 puts capitals ("тест" reads
    "ФЕУФ"), and lower case is by far the more common.  One linear pass.
    """
    odd = capitals = 0
    lower = False
    previous = ""
    plain = accented = 0  # the Latin letters of the current word
    for char in text + " ":
        if unicodedata.category(char).startswith("M"):
            # A vowel sign or point needs a letter to sit on.
            odd += not previous
            continue
        if not char.isalpha():
            odd += bool(previous) and not char.isascii() and char not in _IN_WORD
            # A Latin word mostly of accented letters ("Ďđčâĺň") is a
            # Cyrillic or Greek word read in a Latin code page.
            odd += accented if accented > max(plain, 1) else 0
            previous = ""
            plain = accented = 0
            continue
        if char.isascii():
            plain += 1
        else:
            lower = lower or char.islower()
            capitals += char.isupper() and bool(previous)
            accented += _group(char) == "LATIN"
        # Half-width katakana is a 1980s terminal form; in today's mail it is
        # almost always bytes of another charset read as Shift_JIS.
        odd += _group(char) == "HALFWIDTH"
        if previous and (
            _group(char) != _group(previous) or (previous.islower() and char.isupper())
        ):
            odd += 1
        previous = char
    return odd + (0 if lower else capitals)


def detect(data: bytes) -> str:
    """The charset of undeclared 8-bit ``data``, as charset-normalizer finds it.

    A few words of text fit many charsets equally well, and charset-normalizer
    then reports a tie.  Among the readings it ranks least chaotic, the one
    with the fewest odd places wins, and a tie there goes to the charset
    earliest in _CANDIDATES (the likelier in a British council's mail), so
    cp1252 stands whenever it reads the bytes as well as anything else and
    short Western names (Siân, Müller) are never read as Chinese.
    """
    results = list(from_bytes(data, cp_isolation=_CANDIDATES))
    if not results:
        return _DEFAULT
    least_chaos = min(result.chaos for result in results)
    ranked = []
    for result in results:
        if result.chaos > least_chaos:
            continue
        # Charsets that read the bytes identically are merged into one result.
        names = [c for c in result.could_be_from_charset if c in _RANK] or [result.encoding]
        best_name = min(names, key=lambda c: _RANK.get(c, len(_RANK)))
        ranked.append((_oddness(str(result)), _RANK.get(best_name, len(_RANK)), best_name))
    return str(min(ranked)[2])


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
