"""A person's name from a display name: "Surname, Forename" turned round, mailboxes refused."""

from __future__ import annotations

import re

# Display names longer than this are not names; the check stays bounded.
_LONGEST = 80
# A comment in brackets after a name ("Helen Marsh (Head)") is not part of it.
_COMMENT = re.compile(r"\([^()]{0,80}\)")
_SURNAME_FIRST = re.compile(r"^([^,]{1,40}),[ \t]*([^,]{1,40})$")
# Words that name a shared mailbox, a role or an organisation rather than a
# person: "Oakfield Primary Office", "Admissions", "ICT Team".
_NOT_A_PERSON = re.compile(
    r"\b(office|admin|administration|administrator|reception|enquiries|enquiry|info|"
    r"school|primary|secondary|academy|infants?|juniors?|nursery|college|trust|council|"
    r"bursar|finance|accounts|admissions|ict|it|helpdesk|support|team|staff|head ?teacher|"
    r"headmaster|headmistress|office manager|business manager|no-?reply|mailbox|department)\b",
    re.IGNORECASE,
)
_LETTERS = re.compile(r"^[^\W\d_](?:[^\W\d_]|['\u2019.-])*$")


def _plain(words: str) -> bool:
    """Every word is made of letters (and the apostrophes, hyphens and dots names use)."""
    parts = words.split()
    return 0 < len(parts) <= 4 and all(_LETTERS.match(p) for p in parts)


def person_name(display: str) -> str:
    """The person a display name names, or "" when it names a mailbox, role or nothing."""
    if len(display) > 2 * _LONGEST:
        return ""
    name = " ".join(_COMMENT.sub(" ", display).strip().strip("\"'").split())
    if not name or len(name) > _LONGEST or "@" in name:
        return ""
    turned = _SURNAME_FIRST.match(name)
    if turned:
        name = f"{turned[2].strip()} {turned[1].strip()}"
    if _NOT_A_PERSON.search(name) or not _plain(name):
        return ""
    return name
