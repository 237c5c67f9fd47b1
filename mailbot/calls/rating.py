"""Read a satisfaction rating from the first words of a reply, and say who may give one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mailbot.calls.records import CallView

# Named in annotations only: the call store imports this module, and a
# command that reads calls (`calls list`) need not import the rules.
if TYPE_CHECKING:
    from mailbot.rules.files import Satisfaction
    from mailbot.rules.loader import Rules

# The rating is the first token of the reply's first non-blank line: a
# number, optionally "out of" the scale ("4/5"), or a word; trailing
# punctuation is allowed ("Good!", "3.").  Whatever follows is the comment.
_TOKEN = re.compile(r"\s*([A-Za-z][A-Za-z'-]*|\d{1,2})(?:\s*/\s*\d{1,2})?[.!,:;)-]*(?=\s|$)")
_PARAGRAPH_END = re.compile(r"\n[ \t]*\r?\n")
# A comment is kept to this many characters (the whole reply is stored anyway).
COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Rating:
    """A rating as read from a reply: its number, the word or number written, the comment."""

    score: int
    word: str
    comment: str


def read_rating(text: str, rules: Satisfaction) -> Rating | None:
    """The rating the reply ``text`` gives, or None when its first word is not one.

    Only the reply's own new words are read (the quoted closure notice is
    already gone); one pass over the text.
    """
    stripped = text.lstrip()
    found = _TOKEN.match(stripped)
    if found is None:
        return None
    token = found.group(1)
    if token.isdigit():
        score = int(token)
        if not 1 <= score <= rules.scale:
            return None
        word = token
    else:
        known = rules.words.get(token.lower())
        if known is None:
            return None
        score, word = known, token
    # The comment is the rest of the rating's paragraph: a blank line ends
    # it, so the sign-off below is not taken for part of it.
    rest = stripped[found.end() :].lstrip(" \t-:,.")
    comment = _PARAGRAPH_END.split(rest, maxsplit=1)[0].strip()
    return Rating(score=score, word=word, comment=comment[:COMMENT_CHARS])


def invited(rules: Satisfaction, call_type: str) -> bool:
    """Whether a closing call of this type invites its requester to rate it."""
    return rules.enabled and call_type in rules.call_types


def is_poor(rules: Satisfaction, score: int) -> bool:
    """Whether a rating is low enough to go to the call's officer."""
    return score <= rules.poor_at_most


def window_open(rules: Satisfaction, invited_at: datetime | None, now: datetime) -> bool:
    """Whether a rating given at ``now`` counts: the call was invited, not too long ago."""
    if invited_at is None:
        return False
    return invited_at <= now <= invited_at + timedelta(days=rules.window_days)


def from_requester(call: CallView, address: str | None) -> bool:
    """Whether ``address`` is the call's requester: nobody else rates a call."""
    return bool(address and call.requester_email) and (
        (address or "").strip().lower() == (call.requester_email or "").strip().lower()
    )


def _shown(word: str) -> str:
    """A rating word as the invitation shows it: "OK", "Good"."""
    return word.upper() if len(word) <= 2 else word.capitalize()


def invitation(rules: Rules, invite: bool) -> dict[str, object]:
    """What the closure notice's template is told about asking for a rating."""
    s = rules.policy.satisfaction
    words = sorted(s.words, key=lambda w: -s.words[w])
    return {
        "invite": invite,
        "scale": s.scale,
        "words": [_shown(w) for w in words],
        "days": s.window_days,
    }
