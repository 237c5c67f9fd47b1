"""Find passwords that schools send unprompted and replace them before anything is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "[password removed]"

# The words that announce a secret.  "pass" on its own is too common a word
# ("pass the message on") and only counts with a colon or equals sign.
_WORDS = (
    r"(?:password|passwd|passcode|passphrase|passwort|kennwort|pwd|pw|pin(?:\s+(?:number|code))?"
    r"|(?:wi-?fi|wireless|network|wpa2?)\s+key)"
)

# What may sit between the word and its connector: "the password for the
# filtering box is ...", "the PIN on the door is ...".
_QUALIFIER = r"(?:\s+(?:for|on|of|to)(?:\s+[\w'./-]+){1,5}?)?"

# How a secret is introduced.  Each connector needs something after it; a
# request such as "please reset the password" has none.
_CONNECTOR = (
    r"(?:\s*[:=]\s*"
    # Longest phrases first: the first alternative that fits is the one used.
    r"|\s+(?:(?:has been|was|is now)\s+(?:set|changed|reset)\s+to|set to|changed to|reset to|"
    r"is now|will be|has been|is|was)"
    r"(?:\s*[:=])?\s+"
    r"|(?P<dash>\s+[-–]\s+))"
)

# The secret: a quoted phrase on one line, or one run of non-blank characters.
_SECRET = (
    r"(?:(?P<quote>[\"'“‘`])(?P<quoted>[^\"'”’`\n]{1,60})[\"'”’`]"
    r"|(?P<bare>[^\s\"'“‘`]\S*))"
)

# Never read the marker itself as a secret: redacting twice changes nothing.
_NOT_MARK = rf"(?!{re.escape(MARK)})"

_ANNOUNCED = re.compile(
    rf"(?P<lead>\b(?P<word>{_WORDS})\b{_QUALIFIER}{_CONNECTOR}){_NOT_MARK}{_SECRET}",
    re.IGNORECASE,
)

# "username jsmith password Hunter22", "login: bob / pass: x" on one line:
# after a user name, the secret needs no connector at all.
_AFTER_USER = re.compile(
    r"(?P<lead>\b(?:user\s?name|user(?:\s?id)?|login|account)\b[ \t]*[:=]?[ \t]*[^\s,;/|]+"
    rf"[ \t]*[,;/|]?[ \t]*(?:and[ \t]+)?(?:the[ \t]+)?(?P<word>{_WORDS}|pass)\b"
    r"(?:[ \t]*[:=][ \t]*|(?P<gap>[ \t]+)))"
    rf"{_NOT_MARK}{_SECRET}",
    re.IGNORECASE,
)

_PASS_COLON = re.compile(
    rf"(?P<lead>\b(?P<word>pass)[ \t]*[:=][ \t]*){_NOT_MARK}{_SECRET}", re.IGNORECASE
)

# Words that follow "the password is" in ordinary sentences about a
# password, rather than the password itself.
_NOT_SECRETS = frozenset(
    """
    a about above also am an and any are as at attached bad be because being below
    blank box but by can cannot can't case case-sensitive change correct could
    definitely did different do does doesn't don't due email empty expiry field fine
    for forgotten from going has have he help here i if in incorrect invalid is isn't
    issue it it's just known link long manager missing my needed no none not nothing
    now of ok okay on one or our page please policy probably problem prompt recovery
    really request required reset right same screen set she short should so still
    strong that the their them then there they this to too unchanged unknown unlock
    update very was we weak were what when which will won't would wrong you your
    """.split()
)

# A number followed by these describes the password's length, not its value.
_LENGTH_WORDS = re.compile(r"\s+(?:characters?|chars?|digits?|letters?|long)\b", re.IGNORECASE)

# Stripped from the end of a bare secret: the sentence's punctuation.
_TRAILING = ".,;:)]}>"


@dataclass(frozen=True)
class Redaction:
    """The cleaned text and whether anything was removed."""

    text: str
    found: bool


def _looks_made_up(secret: str) -> bool:
    """Digits, symbols or inner capitals: not an ordinary word."""
    return not secret.isalpha() or any(c.isupper() for c in secret[1:])


def _plausible(secret: str, word: str, rest: str, *, weak: bool = False) -> bool:
    """Whether ``secret`` reads as a password rather than ordinary words.

    After a weak connector (a dash) only a made-up looking string counts:
    "reset the password for Mrs Smith - she is locked out" names no secret.
    """
    if not secret or secret.lower() in _NOT_SECRETS:
        return False
    if weak and not _looks_made_up(secret):
        return False
    if word.lower().startswith("pin") and not any(c.isdigit() for c in secret):
        return False
    if secret.isdigit() and _LENGTH_WORDS.match(rest):
        return False
    # "expired", "working", "definitely": lower-case words with these endings
    # describe the password.  Real passwords rarely look like that.
    return not (secret.isalpha() and secret.islower() and secret.endswith(("ed", "ing", "ly")))


def _replace(match: re.Match[str]) -> str:
    rest = match.string[match.end() :]
    # A dash, or nothing at all after "username x password", is a weak
    # connector: "username jsmith password change needed" names no secret.
    weak = bool(match.groupdict().get("dash") or match.groupdict().get("gap"))
    if match.group("quote"):
        secret = match.group("quoted")
        if not _plausible(secret.strip(), match.group("word"), rest, weak=weak):
            return match.group(0)
        start, end = match.start("quoted") - match.start(), match.end("quoted") - match.start()
        return f"{match.group(0)[:start]}{MARK}{match.group(0)[end:]}"
    bare = match.group("bare")
    secret = bare.rstrip(_TRAILING)
    if not _plausible(secret, match.group("word"), bare[len(secret) :] + rest, weak=weak):
        return match.group(0)
    return f"{match.group('lead')}{MARK}{bare[len(secret) :]}"


def _one_pass(text: str) -> str:
    for pattern in (_AFTER_USER, _ANNOUNCED, _PASS_COLON):
        text = pattern.sub(_replace, text)
    return text


def redact(text: str) -> Redaction:
    """Replace each password-looking secret in ``text`` with a marker."""
    cleaned = _one_pass(text)
    # A secret can hide another ("password: pin: 1234"); repeat until nothing
    # changes, so that redacting twice is the same as redacting once.
    for _ in range(5):
        again = _one_pass(cleaned)
        if again == cleaned:
            break
        cleaned = again
    return Redaction(cleaned, cleaned != text)
