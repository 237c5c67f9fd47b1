"""Sample data every template is rendered with when the rules load, to catch mistakes early."""

from __future__ import annotations

from typing import Any

from mailbot.rules.changesamples import CHANGE_SAMPLES
from mailbot.rules.incidentsamples import INCIDENT_SAMPLES
from mailbot.rules.pagesamples import REPORT, SERVICE
from mailbot.rules.reviewsamples import REVIEW
from mailbot.rules.samplecall import COMMANDS, OFFICER, SAMPLE_CALL

# Every email mailbot sends has a template; each is checked against this sample
# data when rules load, so a typo fails `mailbot rules check`, not a 2 a.m. send.
SAMPLES: dict[str, dict[str, Any]] = {
    "confirmation": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "missing": ["a contact telephone number", "when it last worked"],
        "out_of_hours": True,
        "picked_up": "8am on Monday 23 November",
        "password_removed": True,
        "authorisation": {"by": "Helen Marsh"},
        "review": {"board": "Change Advisory Board"},
        "handler": {"name": "Priya Shah", "role": "project manager"},
        "previous": {
            "ref": "ICT-000101",
            "status": "closed",
            "solved": "4.10pm on Monday 9 November",
        },
    },
    "reopened": {"service": SERVICE, "call": SAMPLE_CALL, "password_removed": True},
    "password_advice": {"service": SERVICE, "call": SAMPLE_CALL, "password_removed": True},
    "solved": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "note": "We replaced the faulty switch in the ICT suite.",
        "reopen_until": "by 2.15pm on Wednesday 25 November",
        "close_on": "after 2.15pm on Friday 27 November",
    },
    "targets_changed": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "changes": ["Priority: was P2 (Significant impact), now P4"],
        "reason": "only one laptop is affected",
    },
    "closure": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "solved": "2.15pm on Tuesday 24 November",
        "rating": {"invite": True, "scale": 5, "words": ["Good", "OK", "Poor"], "days": 14},
    },
    "poor_rating": {
        "service": SERVICE,
        "call": {**SAMPLE_CALL, "status": "closed"},
        "sender": {"name": "Ann Example", "address": "ann@oakfield.example", "phone": ""},
        "rating": {"score": 1, "scale": 5, "word": "Poor"},
        "text": "It took three visits and nobody told us when the engineer was coming.",
        "attachments": [],
        "commands": COMMANDS,
    },
    "new_call": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "sender": {
            "name": "Ann Example",
            "address": "ann@oakfield.example",
            "phone": "01632 960001",
        },
        "text": "The internet has been very slow in the ICT suite since this morning.",
        "attachments": [{"filename": "error.png", "content_type": "image/png", "kb": 120}],
        "missing": ["when it last worked"],
        "previous": "ICT-000101",
        "commands": COMMANDS,
    },
    "school_reply": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "sender": {"name": "Ann Example", "address": "ann@oakfield.example", "phone": ""},
        "text": "It is still slow this afternoon.",
        "attachments": [],
        "reopened": False,
        "resumed": False,
        "commands": COMMANDS,
    },
    "staff_reply": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "text": "I have restarted the filtering appliance; please try again now.",
        "officer": OFFICER,
    },
    "escalation": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "level": 1,
        "share": 65,
        "left": "6 hours 18 minutes of support time left",
        "overdue": False,
        "fix_was_due": "4.30pm on Tuesday 24 November",
        "assignee": "Sam Okafor",
        "logged": "4.30pm on Friday 20 November",
        "details": "The internet has been very slow in the ICT suite since this morning.",
        "commands": COMMANDS,
    },
    "assigned": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "by": "Dana Lee",
        "officer": {"name": "Sam Okafor"},
        "commands": COMMANDS,
    },
    "breach": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "target": "response",
        "was_due": "9.05am on Tuesday 24 November",
        "assignee": "Sam Okafor",
        "logged": "9.05am on Monday 23 November",
        "commands": COMMANDS,
    },
    "receipt": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "commands": COMMANDS,
        "done": ["assigned to sam", "priority P3 -> P2"],
        "refused": ["#priority P7: no priority 'P7'; priorities are Critical, P1, P2, P3, P4"],
        "sent_to": ["head@oakfield.example", "spoc@oakfield.example"],
        "internal": False,
        "help": ["#assign NAME", "    give the call to an officer (id, name or me)"],
        "missed_target": "5pm on Monday 30 November",
    },
    "staff_update": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "commands": COMMANDS,
        "authorised": True,
        "by": "Helen Marsh",
        "reason": "",
        "words": "Fine, but only for the Year 6 topic this half term.",
        "review": "Change Advisory Board",
    },
    "authorisation_request": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "headteacher": "Helen Marsh",
        "text": "Please could you unblock www.sciencekids.example for year 6?",
    },
    "authorisation_result": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "authorised": False,
        "by": "Helen Marsh",
        "reason": "We are not allowing social media in class this term.",
        "words": "",
        "review": "",
    },
    "decision_refused": {
        "service": SERVICE,
        "call": SAMPLE_CALL,
        "person": {"name": "Helen Marsh", "address": "head@example.sch.uk"},
        "command": "#authorise",
        "reason": "it was not a reply to the email we sent you asking for it",
        "replied": True,
    },
    "unverified_staff": {
        "service": SERVICE,
        "password_removed": True,
        "subject": "Re: [ICT-000123] Internet very slow in the ICT suite",
        "sender": {
            "name": "Sam Okafor",
            "address": "sam.okafor@example.gov.uk",
            "reason": "mx.example.gov.uk reported dkim=fail, spf=fail",
        },
        "also_held": 2,
    },
    "not_their_call": {
        "service": SERVICE,
        "password_removed": False,
        "sender": {"name": "Grace Fenton", "address": "head@st-marys.example"},
        "subject": "Please close this call",
    },
    "unknown_sender": {
        "service": SERVICE,
        "password_removed": True,
        "sender": {"name": "Sam Someone", "address": "sam@example.com"},
        "subject": "School places",
    },
    "flood_notice": {
        "service": SERVICE,
        "domain": "oakfield.sch.example.uk",
        "cap": 20,
        "sender": {"name": "A Parent", "address": "parent41@oakfield.sch.example.uk"},
        "subject": "Cannot log in",
    },
    "held_reply": {
        "service": SERVICE,
        "text": "Hello, this address is for schools; please ask your school office.",
        "officer": {"name": "Sam Okafor", "email": "sam@example.gov.uk"},
    },
    "held_digest": {
        "service": SERVICE,
        "count": 2,
        "held": [
            {
                "id": "12",
                "received_at": "23 Nov 2026 09:05",
                "sender": "sam@example.com",
                "subject": "School places",
                "why": "unknown sender; polite reply",
            },
            {
                "id": "p3",
                "received_at": "23 Nov 2026 09:40",
                "sender": "head@oakfield.sch.example.uk",
                "subject": "Scans",
                "why": "parked in Failed: over the CPU budget of 5 s per email",
            },
        ],
    },
    "oversize": {
        "service": SERVICE,
        "password_removed": True,
        "subject": "Scans of the network cabinet",
        "size_mb": 25.3,
        "true_mb": 18.5,
        "limit_mb": 15,
    },
}
SAMPLES.update(CHANGE_SAMPLES)
SAMPLES.update(INCIDENT_SAMPLES)
SAMPLES["report"] = REPORT
SAMPLES["review"] = REVIEW
