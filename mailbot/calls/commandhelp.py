"""The commands staff may write, as every staff email about a call lists them."""

from __future__ import annotations

import textwrap

# How to write each command and what it does, in the order #help lists them.
USAGE: dict[str, tuple[str, str]] = {
    "assign": ("#assign NAME", "give the call to an officer (id, name or me)"),
    "take": ("#take", "assign the call to yourself"),
    "unassign": ("#unassign", "give the call back to the team"),
    "priority": (
        "#priority P2 REASON",
        "change the priority; the school is told why",
    ),
    "type": ("#type service request", "incident, service request, change, complaint"),
    "status": ("#status awaiting customer", "open, in progress, awaiting customer, solved"),
    "solved": ("#solved", "mark solved; your words go in the solved notice"),
    "deadline": ("#deadline 2026-12-04 REASON", "a revised fix deadline agreed with the school"),
    "reason": ("#reason WHY", "why the call missed its fix target (the monthly report shows it)"),
    "link": ("#link ICT-000120", "cross-reference another call"),
    "note": ("#note", "keep your words internal: the school sees nothing"),
    "authorise": ("#authorise", "authorise a request that is waiting for it"),
    "decline": ("#decline REASON", "decline a request that is waiting for it"),
    "approve": ("#approve", "approve a change (Change Advisory Board members)"),
    "reject": ("#reject REASON", "reject a change; the school is told the reason"),
    "change": ("#change [emergency]", "send to the change board (or the emergency board)"),
    "withdraw": ("#withdraw", "withdraw a change for the school; the call closes"),
    "appeal": ("#appeal", "send a rejected change back to its board"),
    "major": ("#major declare TITLE", "a major incident: declare, update TEXT, resolve TEXT"),
    "planned": (
        "#planned TITLE; from DATE TIME; to DATE TIME; services A, B",
        "announce planned work; #planned change REF; ... or cancel REF",
    ),
    "help": ("#help", "this list"),
}


# Shown at the top of every staff notice, briefly; #help gives the rest.
FIRST_SHOWN = (
    "#assign NAME",
    "#priority P1-P4",
    "#status STATUS",
    "#solved",
    "#deadline DATE REASON",
    "#note",
    "#help",
)


def help_lines() -> list[str]:
    """Two lines per command, how to write it and then what it does, for narrow screens."""
    return [line for usage, summary in USAGE.values() for line in (usage, f"    {summary}")]


def usage_lines(width: int = 66) -> list[str]:
    """The commands most used, wrapped to ``width`` for the head of staff notices."""
    return textwrap.wrap("   ".join(FIRST_SHOWN), width, break_on_hyphens=False)
