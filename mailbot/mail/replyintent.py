"""What a person's reply on a solved call says: still broken, thanks, or something else."""

from __future__ import annotations

import re
from enum import StrEnum

# Only the opening of a reply is read: a thank-you or a "still not working"
# comes first, and a bounded window keeps the pass linear in any input.
WINDOW = 2_000

# Words that say the problem is not fixed.  They are looked for first, so
# "thanks, but it is still not working" reopens the call.
_NOT_FIXED = re.compile(
    r"\b(not (fixed|working|resolved|sorted|right)|still (not|isn.t|doesn.t|won.t|can.t|cannot|"
    r"having|getting|broken|down|the same|happening|an issue|a problem)|"
    r"(isn.t|is not|aren.t|are not) (fixed|working|resolved|sorted)|"
    r"(doesn.t|does not|don.t|do not|didn.t|did not|won.t|will not) (work|fix|load|connect|start)|"
    r"(hasn.t|has not|haven.t|have not) (fixed|worked|been fixed|been sorted|been resolved)|"
    r"(stopped|broken|failed|failing|down) again|happen(ed|ing|s)? again|"
    r"same (problem|issue|error)|no better|problem (is|has come) back|"
    r"(?<!thanks )(?<!thank you )again|"
    r"(cannot|can.t|unable to) (log|get|print|connect|access|open|send|see|use))\b",
    re.IGNORECASE,
)

# Words that thank or confirm the fix.
_THANKS = re.compile(
    r"\b(thank(s| you| u)?|cheers|ta|much appreciated|many thanks|"
    r"(all|it.s|it is|that.s|everything.s|everything is|now) (working|sorted|fixed|fine|ok|okay)|"
    r"fixed it|sorted it|works (now|fine|perfectly)|working (now|fine|perfectly|again)|"
    r"(you|we) can close|please close|happy for (you|it) to (be )?close)\b",
    re.IGNORECASE,
)


class Intent(StrEnum):
    """What a reply on a solved call says about the fix."""

    NOT_FIXED = "not_fixed"
    THANKS = "thanks"
    OTHER = "other"


def reply_intent(text: str) -> Intent:
    """Read the opening of a reply: not fixed beats thanks; neither is OTHER."""
    window = text[:WINDOW]
    if _NOT_FIXED.search(window):
        return Intent.NOT_FIXED
    if _THANKS.search(window):
        return Intent.THANKS
    return Intent.OTHER
