"""Recognise a fresh email as the same fault a school had solved recently: the recurrence check."""

from __future__ import annotations

import re
from datetime import timedelta

from mailbot.calls.records import CallView
from mailbot.pipeline.records import Context
from mailbot.sla.calendar import Target, apply_target

# Subjects are short, but a bounded window keeps the word split linear anyway.
_WINDOW = 300
_WORD = re.compile(r"[a-z0-9]{3,}")
# Words that say nothing about which fault it is.
_COMMON = frozenset(
    "the and for not our all again still help please urgent issue problem fault "
    "with from has have are was this that its can cannot working work new".split()
)
# The most calendar time any support-time window could span (terms, holidays).
_LONGEST_WINDOW = timedelta(days=120)


def _words(subject: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(subject[:_WINDOW].lower()) if w not in _COMMON)


def similar(a: str, b: str) -> bool:
    """Whether two subjects name the same fault: half the shorter's telling words are shared."""
    left, right = _words(a), _words(b)
    if not left or not right:
        return False
    shared = len(left & right)
    return shared >= 1 and 2 * shared >= min(len(left), len(right))


def recurrence_of(ctx: Context, call: CallView) -> CallView | None:
    """The school's solved incident this new call repeats, within the recurrence window."""
    if call.type != "incident" or call.school_id is None:
        return None
    window = Target.parse(ctx.rules.sla.lifecycle.recurrence_within)
    earlier = ctx.store.recent_done(
        call.school_id, call.category, since=ctx.now - _LONGEST_WINDOW, besides=call.id
    )
    for old in earlier:
        if old.solved_at is None or not similar(old.subject, call.subject):
            continue
        if ctx.now <= apply_target(ctx.rules.calendar, old.solved_at, window):
            return old
    return None
