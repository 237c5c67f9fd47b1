"""Find passwords that schools send unprompted and replace them before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "[password removed]"

# Every pattern below has bounded repetition only, and each scan moves
# forward through the text, so a pass costs a constant per character:
# 1 MB of password-like text cannot take longer than 1 MB of prose.  Runs
# that cannot give characters back to what follows them are possessive
# ({1,64}+), which keeps that constant small.

# The words that announce a secret, in the languages schools write in and
# the spellings people use to dodge filters (p/w, pword, Pa$$word, P@ssw0rd).
# "pass" on its own is too common a word ("pass the message on") and has its
# own, stricter pattern.
_WORDS = (
    r"(?:pass(?:word|wd|code|phrase|[ \t]phrase|key)s?|p[a@4][s$5]{2}w[o0]rds?|pword|pwd|p/w|pw"
    r"|passwort|kennwort|wachtwoord|contrase(?:ñ|n)a|mot[ \t]de[ \t]passe|cyfrinair"
    r"|pin(?:[ \t](?:number|code))?|(?:wi-?fi|wireless|network|wpa2?)[ \t](?:key|code))"
)

# What may sit between the word and its connector: "the password for the
# admin account on the filtering box is ...", "the PIN on the door is ...".
_QUALIFIER = r"(?:\s{1,4}(?:for|on|of|to|at|in|für|pour)(?:\s{1,4}[\w'./-]{1,40}+){1,10}?)?"

# A colon or equals sign.  After a colon the value may start on the next line.
_COLON = r"(?P<colon>[ \t]{0,8}(?P<sign>[:=])[ \t]{0,8}(?:\r?\n[ \t]{0,8})?)"

# A verb introducing the secret, in English, German, French, Spanish, Dutch.
_VERB = (
    r"(?:\s{1,4}(?:(?:has[ \t]been|was|is[ \t]now)[ \t]{1,4}(?:set|changed|reset)[ \t]{1,4}to"
    r"|set[ \t]to|changed[ \t]to|reset[ \t]to|is[ \t]now|will[ \t]be|has[ \t]been|is|was|are"
    r"|ist|lautet|est|es)(?:[ \t]{0,4}[:=])?\s{1,4})"
)

# A dash is a weak connector: only a made-up looking secret counts after it.
_DASH = r"(?P<dash>[ \t]{1,8}[-–][ \t]{1,8})"

# Nothing at all ("pwd Hunter44", "new password Tr0ub4dor&3 not accepted"):
# weakest of all; used only straight after the word.
_GAP = r"(?P<gap>[ \t]{1,4})"

# The word alone on its line, the value on the next: "Password\nHunter44".
_NEXT_LINE = r"(?P<nextline>[ \t]{0,4}\r?\n[ \t]{0,8})"

# The start of the secret: a quote, or a character that begins a token.
# Only the start is matched; the extent is measured afterwards.
_START = r"(?P<start>[\"'“‘`]|[^\s\"'“‘`])"

# Never read the marker itself as a secret: redacting twice changes nothing.
_NOT_MARK = rf"(?!{re.escape(MARK)})"

# The word starts the text or follows a space, bracket, quote or punctuation;
# "+PW:" inside uuencoded or base64 data is not a word.
_WORD_START = r"(?<![^\s(\[{\"'“‘*_,;:.!?>-])"

_ANNOUNCED = re.compile(
    rf"\b{_WORD_START}(?P<word>{_WORDS})(?!\w)"
    rf"(?:{_QUALIFIER}(?:{_COLON}|{_VERB}|{_DASH})|{_NEXT_LINE}|{_GAP})"
    rf"{_NOT_MARK}{_START}",
    re.IGNORECASE,
)

# "username jsmith password Hunter22", "login: bob / pass: x" on one line:
# after a user name, the secret needs no connector at all.
_AFTER_USER = re.compile(
    r"\b(?:user[ \t]?name|user(?:[ \t]?id)?|login|account)\b[ \t]{0,8}[:=]?[ \t]{0,8}"
    r"[^\s,;/|]{1,64}+[ \t]{0,8}[,;/|]?[ \t]{0,8}(?:and[ \t]{1,4})?(?:the[ \t]{1,4})?"
    rf"(?P<word>{_WORDS}|pass)\b"
    r"(?:(?P<colon>[ \t]{0,8}(?P<sign>[:=])[ \t]{0,8})|(?P<gap>[ \t]{1,8}))"
    rf"{_NOT_MARK}{_START}",
    re.IGNORECASE,
)

# "credentials: admin / Tr0ub4dor", "username/password: admin/x": a user
# name, a slash or bar, then the secret.  After a bare "login:" or
# "account:" only a made-up looking secret counts.
_PAIR = re.compile(
    r"\b(?:(?P<strong>credentials|creds|log-?[io]n[ \t]details"
    rf"|user[ \t]?name[ \t]{{0,2}}(?:/|and|&)[ \t]{{0,2}}{_WORDS})|(?P<word>login|logon|account))"
    r"[ \t]{0,8}(?::|=|-|are|is)[ \t]{0,8}[^\s/|,;]{1,64}+[ \t]{0,4}[/|][ \t]{0,4}"
    rf"{_NOT_MARK}{_START}",
    re.IGNORECASE,
)

_PASS_COLON = re.compile(
    rf"\b(?P<word>pass)[ \t]{{0,8}}[:=][ \t]{{0,8}}{_NOT_MARK}{_START}", re.IGNORECASE
)

# A password word on its own, to tell a secret from a label ("pass: x").
_JUST_A_WORD = re.compile(rf"(?:{_WORDS}|pass)[:=]?", re.IGNORECASE)

# Words that follow "the password is" in ordinary sentences about a
# password, rather than the password itself.
_NOT_SECRETS = frozenset(
    """
    a about above actually also am an and any apparently are as at attached bad be
    because being below blank box but by can cannot can't case case-sensitive change
    certainly clearly completely correct could currently definitely did different do
    does doesn't don't due email empty exactly expiry field fine for forgotten from
    generally going has have he help here i if in incorrect invalid is isn't issue it
    it's just known likely link long manager missing my needed no none normally not
    nothing now obviously of ok okay on one only or our page please policy possibly
    probably problem prompt really recovery request required reset right same screen
    set she short should simply so still strong that the their them then there they
    this to too totally unchanged unknown unlock update usually very was we weak were
    what when which will won't would wrong you your
    """.split()
)

# A number followed by these describes the password's length, not its value.
_LENGTH_WORDS = re.compile(r"\s{1,8}(?:characters?|chars?|digits?|letters?|long)\b", re.I)

# Stripped from the end of a bare secret: the sentence's punctuation.
_TRAILING = ".,;:)]}>"

# Closing quotes for each opening quote.
_CLOSERS = {'"': '"”', "'": "'’", "“": '”"', "‘": "’'", "`": "`"}

# How far a decision looks: enough for any password, little enough that a
# rejected candidate costs a constant however long the line or token is.
_LOOK = 200
_QUOTED_MAX = 60

_NON_SPACE = re.compile(rf"\S{{1,{_LOOK}}}")
# Measures a secret already accepted, once; the scan then jumps past it.
_TOKEN = re.compile(r"\S*")


@dataclass(frozen=True)
class Redaction:
    """The cleaned text and whether anything was removed."""

    text: str
    found: bool


def _looks_made_up(secret: str) -> bool:
    """Digits, symbols or inner capitals: not an ordinary word."""
    return not secret.isalpha() or any(c.isupper() for c in secret[1:])


def _describes(secret: str) -> bool:
    """Words such as "expired", "working": they describe a password, not spell it."""
    folded = secret.lower()
    if folded in _NOT_SECRETS:
        return True
    return secret.isalpha() and secret.islower() and folded.endswith(("ed", "ing"))


def _plausible(secret: str, word: str, *, weak: bool, after_number: bool) -> bool:
    """Whether the single token ``secret`` reads as a password rather than ordinary words."""
    if not secret or _describes(secret) or _JUST_A_WORD.fullmatch(secret):
        return False
    if weak and not _looks_made_up(secret):
        return False
    if word.lower().startswith("pin") and not any(c.isdigit() for c in secret):
        return False
    return not (secret.isdigit() and after_number)


def _line_kind(line: str, word: str) -> str:
    """What of the rest of a line after "password:" is secret: "line", "token" or "".

    A made-up looking first token is the secret ("Hunter44 - please change
    it").  A short line of ordinary words is a passphrase ("correct horse
    battery staple") unless it reads as a sentence about the password ("reset
    please", "the one on the card", "can you send it"): a sentence has more
    than one of the words that describe a password, or is one such word.
    """
    words = [w.strip(_TRAILING + "!?\"'") for w in line.split()[:12]]
    words = [w for w in words if w]
    if not words or _JUST_A_WORD.fullmatch(words[0]):
        return ""
    first = words[0]
    if _looks_made_up(first):
        return "token" if _plausible(first, word, weak=False, after_number=False) else ""
    described = sum(1 for w in words if _describes(w))
    if 1 < len(words) <= 8 and described <= 1 and not (_describes(first) and len(words) == 1):
        return "line"
    return "token" if _plausible(first, word, weak=False, after_number=False) else ""


@dataclass(frozen=True)
class _Found:
    """One secret: where it starts and ends in the text."""

    start: int
    end: int


def _token_end(text: str, start: int) -> int:
    """The end of the run of non-blank characters starting at ``start``."""
    found = _TOKEN.match(text, start)
    return found.end() if found else start


def _quoted(text: str, start: int) -> _Found | None:
    """The inside of a quoted secret on one line, or None when the quote never closes."""
    closers = _CLOSERS[text[start]]
    limit = min(len(text), start + 1 + _QUOTED_MAX + 1)
    for i in range(start + 1, limit):
        if text[i] in closers:
            return _Found(start + 1, i) if i > start + 1 else None
        if text[i] == "\n":
            return None
    return None


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _next_line_allowed(text: str, word_start: int) -> bool:
    """Only "Password" alone on its line (perhaps "New password") has its value below."""
    line_start = text.rfind("\n", max(0, word_start - 40), word_start) + 1
    if line_start == 0 and word_start > 40:
        return False
    before = text[line_start:word_start].split()
    return len(before) <= 1 and all(w.isalpha() for w in before)


def _secret(match: re.Match[str]) -> _Found | None:
    """Where the secret announced by ``match`` lies, or None if it reads as ordinary words."""
    text = match.string
    groups = match.groupdict()
    start = match.start("start")
    word = groups.get("word") or groups.get("strong") or ""
    if text[start] in _CLOSERS:
        found = _quoted(text, start)
        if found is None:
            return None
        secret = text[found.start : found.end].strip()
        weak = bool(groups.get("dash") or groups.get("gap"))
        ok = _plausible(secret, word, weak=weak, after_number=False) or (" " in secret and not weak)
        return found if ok and secret else None
    if groups.get("nextline") is not None and not _next_line_allowed(text, match.start("word")):
        return None
    whole_line = groups.get("sign") == ":" or groups.get("nextline") is not None
    if whole_line and word.lower() != "pass":
        limit = min(len(text), start + _LOOK)
        newline = text.find("\n", start, limit)
        kind = _line_kind(text[start : newline if newline >= 0 else limit], word)
        if not kind:
            return None
        if kind == "line":
            return _Found(start, _line_end(text, start))
    # A single token: judged on its first _LOOK characters, removed whole.
    probe = _NON_SPACE.match(text, start)
    token = probe.group(0) if probe else ""
    secret = token.rstrip(_TRAILING)
    weak = bool(groups.get("dash") or groups.get("gap")) or (
        # A pair after a bare "login:" or "account:" (only _PAIR has "strong").
        "strong" in groups and groups.get("word") is not None
    )
    # Straight after the word with nothing between ("pwd Hunter44"), a short
    # token is more likely a version or a count ("password 2FA") than a secret.
    # (Only _ANNOUNCED has "nextline"; after a user name a gap is expected.)
    if groups.get("gap") and "nextline" in groups and len(secret) < 4:
        return None
    after_number = bool(_LENGTH_WORDS.match(text, start + len(token)))
    if not _plausible(secret, word, weak=weak, after_number=after_number):
        return None
    end = _token_end(text, start)
    trailing = len(text[start:end]) - len(text[start:end].rstrip(_TRAILING))
    return _Found(start, end - trailing)


def _scan(pattern: re.Pattern[str], text: str, spans: list[_Found]) -> None:
    """Add every secret ``pattern`` finds in ``text`` to ``spans``, moving only forward."""
    pos = 0
    while True:
        match = pattern.search(text, pos)
        if match is None:
            return
        found = _secret(match)
        if found is None:
            # Try again one character on: each start is tried once, so the
            # scan stays linear, and a secret announced inside the rejected
            # candidate is still found.
            pos = match.start() + 1
            continue
        spans.append(found)
        pos = max(found.end, match.end())


def _one_pass(text: str) -> str:
    spans: list[_Found] = []
    for pattern in (_AFTER_USER, _PAIR, _ANNOUNCED, _PASS_COLON):
        _scan(pattern, text, spans)
    if not spans:
        return text
    # Overlapping finds (two patterns, one secret) merge into one marker.
    spans.sort(key=lambda s: s.start)
    out: list[str] = []
    pos = 0
    for span in spans:
        if span.start < pos:
            pos = max(pos, span.end)
            continue
        out.extend((text[pos : span.start], MARK))
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def redact(text: str) -> Redaction:
    """Replace each password-looking secret in ``text`` with a marker."""
    cleaned = _one_pass(text)
    if cleaned == text:
        # A pass over text it leaves unchanged would see that same text
        # again and leave it unchanged again: nothing to repeat.
        return Redaction(text, False)
    # A secret can hide another ("password: pin: 1234"); repeat until nothing
    # changes, so that redacting twice is the same as redacting once.  Each
    # pass is linear and there are at most six.
    for _ in range(5):
        again = _one_pass(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return Redaction(cleaned, cleaned != text)
