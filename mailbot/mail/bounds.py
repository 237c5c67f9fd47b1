"""How much of an email's text mailbot keeps and quotes: the whole message stays in the mailbox."""

from __future__ import annotations

# What replaces the end of a text that was cut, so that nobody takes the
# stored or quoted copy for the whole message.
CUT_NOTE = (
    "[... the text was cut here: {rest:,} more characters. "
    "The whole message stays in the support mailbox.]"
)


def cut(text: str, limit: int) -> str:
    """``text`` when it is at most ``limit`` characters, else its head and a note saying so.

    The cut is made at the last line break before the limit when there is
    one in its last quarter, so a reader is not left with half a line.
    """
    if len(text) <= limit:
        return text
    head = text[:limit]
    newline = head.rfind("\n", limit - limit // 4)
    if newline > 0:
        head = head[:newline]
    rest = len(text) - len(head)
    return head.rstrip() + "\n\n" + CUT_NOTE.format(rest=rest) + "\n"


def was_cut(text: str) -> bool:
    """Whether ``text`` ends with the note ``cut`` adds."""
    return text.rstrip().endswith("The whole message stays in the support mailbox.]")
