"""The command grammar: `#assign sam`-style lines at the top of an email, read forgivingly."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# Every command word people may type, mapped to the command it means.  The
# canonical names are the keys of the command table in staffwork.py.
ALIASES: dict[str, str] = {
    "assign": "assign",
    "assignee": "assign",
    "take": "take",
    "unassign": "unassign",
    "priority": "priority",
    "prio": "priority",
    "type": "type",
    "status": "status",
    "solved": "solved",
    "solve": "solved",
    "resolved": "solved",
    "fixed": "solved",
    "deadline": "deadline",
    "reason": "reason",
    "link": "link",
    "note": "note",
    "internal": "note",
    "private": "note",
    "authorise": "authorise",
    "authorize": "authorise",
    "decline": "decline",
    "approve": "approve",
    "reject": "reject",
    "appeal": "appeal",
    "withdraw": "withdraw",
    "change": "change",
    "major": "major",
    "planned": "planned",
    "maintenance": "planned",
    "help": "help",
}


# A command line starts with "#" and a word that begins with a letter, so that
# "#1 priority is the hall" or "# 3 pupils" stay ordinary text.  Full-width
# number signs come from phones set to East Asian keyboards.
#
# Only the head of the line is matched; the argument is the rest with blanks
# and a colon trimmed by str methods.  (A pattern that also matched the
# argument, "(.*?)[ \t]*$", re-read every run of spaces inside it once per
# character: a 40 KB line cost seconds, and the grammar ran several times.)
_COMMAND = re.compile(r"[ \t]*[#＃][ \t]*([A-Za-z][A-Za-z_-]*)")


@dataclass(frozen=True)
class Command:
    """One command line: its canonical name, its argument, and the line as written."""

    name: str
    arg: str
    line: str


@dataclass(frozen=True)
class Instructions:
    """What an email asks for: commands from its first lines, and the rest of its text.

    ``problems`` holds a line-by-line explanation of anything that looked like
    a command but is not one; an email with problems is not acted on.
    """

    commands: tuple[Command, ...] = ()
    body: str = ""
    problems: tuple[str, ...] = ()

    def named(self, name: str) -> Command | None:
        """The first command called ``name``, if the email has one."""
        return next((c for c in self.commands if c.name == name), None)


# A command line is quoted back in receipts and refusals; a longer one is
# shown cut to this many characters (the email itself is stored).
MAX_SHOWN_LINE = 200


def _shown(line: str) -> str:
    line = line.strip()
    return line if len(line) <= MAX_SHOWN_LINE else line[:MAX_SHOWN_LINE] + " [...]"


def _unknown(word: str, line: str) -> str:
    # No command word is longer than nine letters, so a longer word is never
    # close to one; difflib is not shown more than it can use.
    close = difflib.get_close_matches(word[:20].lower(), ALIASES, n=1, cutoff=0.7)
    hint = f"; did you mean #{close[0]}?" if close else "; reply with #help for the list"
    return f"{_shown(line)}: there is no command #{word[:MAX_SHOWN_LINE]}{hint}"


_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\xa0"


def read(text: str) -> Instructions:
    """Split ``text`` into the command lines at its top and the body below them.

    Commands are the lines starting with "#" before the first line of ordinary
    text; blank lines between them are allowed.  Case, spacing and a colon
    after the word do not matter ("# Priority: 2" is "#priority 2").
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    commands: list[Command] = []
    problems: list[str] = []
    index = 0
    for index, written in enumerate(lines):  # noqa: B007 - index is used after the loop
        # A byte-order mark or zero-width character pasted before the "#" would
        # otherwise hide every command, and the lines would go to the school.
        line = written.lstrip(_INVISIBLE)
        if not line.strip():
            continue
        match = _COMMAND.match(line)
        if match is None:
            break
        word, arg = match[1], line[match.end() :].lstrip(" \t:").rstrip(" \t")
        name = ALIASES.get(word.lower().replace("-", "").replace("_", ""))
        if name is None:
            problems.append(_unknown(word, line))
        else:
            commands.append(Command(name, arg, _shown(line)))
    else:
        index = len(lines)
    body = "\n".join(lines[index:]).strip()
    return Instructions(tuple(commands), body, tuple(problems))


def read_email(new_text: str, text: str) -> Instructions:
    """The commands and words of one email, read once for every stage that asks.

    Quote stripping treats a forwarded message as history once anything is
    written above it, and command lines count as writing; so an officer who
    forwards a school's email with "#note" on top would lose the very text
    the note is for.  When a command needs words and the stripped text
    (``new_text``) has none, the words come from the whole ``text`` below
    the commands instead.
    """
    found = read(new_text)
    needs_words = any(c.name in ("note", "decline") for c in found.commands)
    if needs_words and not found.body and text != new_text:
        whole = read(text)
        if whole.commands == found.commands:
            return whole
    return found


def _key(text: str) -> str:
    return re.sub(r"[\s_-]+", " ", text.strip().lower().rstrip(".!")).strip()


# Words people use for each status, after lower-casing and turning runs of
# spaces, hyphens and underscores into one space.
_STATUS_WORDS = {
    "open": "open",
    "reopen": "open",
    "reopened": "open",
    "new": "open",
    "in progress": "in_progress",
    "progress": "in_progress",
    "working": "in_progress",
    "working on it": "in_progress",
    "awaiting customer": "awaiting_customer",
    "awaiting school": "awaiting_customer",
    "awaiting reply": "awaiting_customer",
    "awaiting": "awaiting_customer",
    "waiting": "awaiting_customer",
    "waiting on school": "awaiting_customer",
    "waiting for school": "awaiting_customer",
    "waiting on customer": "awaiting_customer",
    "on hold": "awaiting_customer",
    "pending": "awaiting_customer",
    # Named so that the refusal can say how a call gets there (#change).
    "awaiting approval": "awaiting_approval",
    "approval": "awaiting_approval",
    "solved": "solved",
    "resolved": "solved",
    "fixed": "solved",
    "done": "solved",
    "closed": "closed",
    "close": "closed",
}

_TYPE_WORDS = {
    "incident": "incident",
    "fault": "incident",
    "service request": "service_request",
    "request": "service_request",
    "sr": "service_request",
    "change request": "change_request",
    "change": "change_request",
    "cr": "change_request",
    "complaint": "complaint",
}


def status_word(text: str) -> str | None:
    """The status ``text`` names ("Awaiting customer", "in-progress", "fixed"), or None."""
    return _STATUS_WORDS.get(_key(text))


def type_word(text: str) -> str | None:
    """The call type ``text`` names ("service request", "SR", "change"), or None."""
    return _TYPE_WORDS.get(_key(text))


def priority_word(text: str, known: tuple[str, ...]) -> str | None:
    """The priority ``text`` names among ``known`` ("p2", "2", "Priority 2", "crit")."""
    key = _key(text).removeprefix("priority ").replace(" ", "")
    for name in known:
        lowered = name.lower()
        # "crit" for Critical: a prefix of four letters or more is unambiguous.
        if key in (lowered, lowered.removeprefix("p")) or (
            len(key) >= 4 and lowered.startswith(key)
        ):
            return name
    return None
