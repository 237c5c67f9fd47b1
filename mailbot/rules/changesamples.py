"""Sample data for the change approval templates (the board, the school's change emails)."""

from __future__ import annotations

from typing import Any

from mailbot.rules.pagesamples import SERVICE
from mailbot.rules.samplecall import CHANGE_READER, COMMANDS, SAMPLE_CHANGE

CHANGE_SAMPLES: dict[str, dict[str, Any]] = {
    # Change approval by the Change Advisory Board (ecab.py, changes.py).
    "change_review": {
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "commands": COMMANDS,
        "vote_commands": ["#approve", "#reject REASON"],
        "board": "emergency Change Advisory Board",
        "emergency": True,
        "members": ["Raj Patel", "Priya Shah"],
        "rule": "The first vote decides.",
        "round": 2,
        "due": "by 11.05am on Monday 23 November",
        "raised_by": "Sam Okafor",
        "note": "The exam board's portal needs port 8443 before Friday.",
        "appeal": {
            "by": "Helen Marsh",
            "words": "The exam board requires it.",
            "previous": "Not during the exam period.",
        },
        "sender": {"name": "Tom Reeves", "address": "tom@oakfield.example", "phone": ""},
        "text": "Please open port 8443 on the firewall for the exam board's portal.",
    },
    "change_reminder": {
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "commands": COMMANDS,
        "vote_commands": ["#approve", "#reject REASON"],
        "board": "emergency Change Advisory Board",
        "round": 1,
        "due": "by 11.05am on Monday 23 November",
        "votes": ["Raj Patel: approve (fine by me)"],
    },
    "change_update": {
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "commands": COMMANDS,
        "outcome": "rejected",
        "board": "Change Advisory Board",
        "round": 1,
        "by": "Raj Patel",
        "reason": "Not during the exam period.",
        "votes": ["Raj Patel: reject (Not during the exam period.)"],
        "reviewing": False,
        "school_asked": True,
    },
    "change_submitted": {
        **CHANGE_READER,
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "appeal": True,
    },
    "change_decision": {
        **CHANGE_READER,
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "approved": False,
        "reason": "Not during the exam period.",
        "team": "Network and Filtering",
    },
    "change_withdrawn": {
        **CHANGE_READER,
        "service": SERVICE,
        "call": SAMPLE_CHANGE,
        "by": "Helen Marsh",
    },
    "emergency_refused": {
        "service": SERVICE,
        "password_removed": True,
        "call": SAMPLE_CHANGE,
        "sender": {"name": "Tom Reeves", "address": "tom@oakfield.example"},
        "line": "#change emergency",
    },
}
