"""Sample data every template is rendered with when the rules load, to catch mistakes early."""

from __future__ import annotations

from typing import Any

# Every email mailbot sends has a template; each is checked against this sample
# data when rules load, so a typo fails `mailbot rules check`, not a 2 a.m. send.
_SAMPLE_CALL = {
    "ref": "ICT-000123",
    "tag": "[ICT-000123]",
    "subject": "Internet very slow in the ICT suite",
    "type": "incident",
    "type_label": "Incident",
    "category": "internet",
    "priority": "P2",
    "priority_description": "Significant impact",
    "response_target": "1 day",
    "fix_target": "2 days",
    "response_due": "by 4.30pm on Monday 23 November",
    "fix_due": "by 4.30pm on Tuesday 24 November",
    "school": "Oakfield Primary School",
    "topic": "Oakfield Primary School: Internet very slow in the ICT suite",
    "requester": "Ann Example",
    "status": "open",
}
_SAMPLE_CHANGE = {
    **_SAMPLE_CALL,
    "subject": "Please open port 8443 on the firewall",
    "type": "change_request",
    "type_label": "Change request",
    "priority": "P3",
    "topic": "Oakfield Primary School: Please open port 8443 on the firewall",
    "status": "awaiting_approval",
}
_COMMANDS = [
    "#assign NAME   #priority P1-P4   #status STATUS   #solved",
    "#deadline DATE REASON   #note   #help",
]
_OFFICER = {"name": "Sam Okafor", "email": "sam.okafor@example.gov.uk"}
_SERVICE = {"name": "Schools ICT Support", "address": "ictsupport@example.gov.uk"}

SAMPLES: dict[str, dict[str, Any]] = {
    "confirmation": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
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
    "reopened": {"service": _SERVICE, "call": _SAMPLE_CALL, "password_removed": True},
    "password_advice": {"service": _SERVICE, "call": _SAMPLE_CALL, "password_removed": True},
    "solved": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "note": "We replaced the faulty switch in the ICT suite.",
        "reopen_until": "by 2.15pm on Wednesday 25 November",
        "close_on": "after 2.15pm on Friday 27 November",
    },
    "targets_changed": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "changes": ["Priority: was P2 (Significant impact), now P4"],
        "reason": "only one laptop is affected",
    },
    "closure": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "solved": "2.15pm on Tuesday 24 November",
    },
    "new_call": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "sender": {
            "name": "Ann Example",
            "address": "ann@oakfield.example",
            "phone": "01632 960001",
        },
        "text": "The internet has been very slow in the ICT suite since this morning.",
        "attachments": [{"filename": "error.png", "content_type": "image/png", "kb": 120}],
        "missing": ["when it last worked"],
        "previous": "ICT-000101",
        "commands": _COMMANDS,
    },
    "school_reply": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "sender": {"name": "Ann Example", "address": "ann@oakfield.example", "phone": ""},
        "text": "It is still slow this afternoon.",
        "attachments": [],
        "reopened": False,
        "resumed": False,
        "commands": _COMMANDS,
    },
    "staff_reply": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "text": "I have restarted the filtering appliance; please try again now.",
        "officer": _OFFICER,
    },
    "escalation": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "level": 1,
        "share": 65,
        "left": "6 hours 18 minutes of support time left",
        "overdue": False,
        "fix_was_due": "4.30pm on Tuesday 24 November",
        "assignee": "Sam Okafor",
        "logged": "4.30pm on Friday 20 November",
        "details": "The internet has been very slow in the ICT suite since this morning.",
        "commands": _COMMANDS,
    },
    "assigned": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "by": "Dana Lee",
        "officer": {"name": "Sam Okafor"},
        "commands": _COMMANDS,
    },
    "breach": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "target": "response",
        "was_due": "9.05am on Tuesday 24 November",
        "assignee": "Sam Okafor",
        "logged": "9.05am on Monday 23 November",
        "commands": _COMMANDS,
    },
    "receipt": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "commands": _COMMANDS,
        "done": ["assigned to sam", "priority P3 -> P2"],
        "refused": ["#priority P7: no priority 'P7'; priorities are Critical, P1, P2, P3, P4"],
        "sent_to": ["head@oakfield.example", "spoc@oakfield.example"],
        "internal": False,
        "help": ["#assign NAME", "    give the call to an officer (id, name or me)"],
    },
    "staff_update": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "commands": _COMMANDS,
        "authorised": True,
        "by": "Helen Marsh",
        "reason": "",
        "review": "Change Advisory Board",
    },
    "authorisation_request": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "headteacher": "Helen Marsh",
    },
    "authorisation_result": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "authorised": False,
        "by": "Helen Marsh",
        "reason": "We are not allowing social media in class this term.",
        "review": "",
    },
    # Change approval by the Change Advisory Board (ecab.py, changes.py).
    "change_review": {
        "service": _SERVICE,
        "call": _SAMPLE_CHANGE,
        "commands": _COMMANDS,
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
        "service": _SERVICE,
        "call": _SAMPLE_CHANGE,
        "commands": _COMMANDS,
        "vote_commands": ["#approve", "#reject REASON"],
        "board": "emergency Change Advisory Board",
        "round": 1,
        "due": "by 11.05am on Monday 23 November",
        "votes": ["Raj Patel: approve (fine by me)"],
    },
    "change_update": {
        "service": _SERVICE,
        "call": _SAMPLE_CHANGE,
        "commands": _COMMANDS,
        "outcome": "rejected",
        "board": "Change Advisory Board",
        "round": 1,
        "by": "Raj Patel",
        "reason": "Not during the exam period.",
        "votes": ["Raj Patel: reject (Not during the exam period.)"],
        "reviewing": False,
    },
    "change_submitted": {
        "service": _SERVICE,
        "call": _SAMPLE_CHANGE,
        "appeal": True,
        "emergency": False,
    },
    "change_decision": {
        "service": _SERVICE,
        "call": _SAMPLE_CHANGE,
        "approved": False,
        "reason": "Not during the exam period.",
        "team": "Network and Filtering",
    },
    "change_withdrawn": {"service": _SERVICE, "call": _SAMPLE_CHANGE, "by": "Helen Marsh"},
    "emergency_refused": {
        "service": _SERVICE,
        "password_removed": True,
        "call": _SAMPLE_CHANGE,
        "sender": {"name": "Tom Reeves", "address": "tom@oakfield.example"},
        "line": "#change emergency",
    },
    "incident_notice": {
        "service": _SERVICE,
        "incident": {
            "ref": "MI-0001",
            "title": "Internet service down across all schools",
            "status": "active",
            "email_down": False,
            "declared": "9.15am on Monday 23 November",
        },
        "notice": {"kind": "update", "seq": 2, "text": "A fibre was cut.", "at": "10.30am"},
        "recipient": {"name": "Helen Marsh", "lists": "All Headteachers"},
        "status_url": "https://status.example.gov.uk/",
    },
    "incident_status": {
        "service": _SERVICE,
        "password_removed": True,
        "call": _SAMPLE_CALL,
        "incident": {
            "ref": "MI-0001",
            "title": "Internet service down across all schools",
            "status": "active",
            "latest": "A fibre was cut near the exchange; engineers are on site.",
            "latest_at": "10.30am on Monday 23 November",
            "declared": "9.15am on Monday 23 November",
        },
        "status_url": "https://status.example.gov.uk/",
    },
    "decision_refused": {
        "service": _SERVICE,
        "call": _SAMPLE_CALL,
        "person": {"name": "Helen Marsh", "address": "head@example.sch.uk"},
        "command": "#authorise",
        "reason": "it was not a reply to the email we sent you asking for it",
        "replied": True,
    },
    "unverified_staff": {
        "service": _SERVICE,
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
        "service": _SERVICE,
        "password_removed": False,
        "sender": {"name": "Grace Fenton", "address": "head@st-marys.example"},
        "subject": "Please close this call",
    },
    "unknown_sender": {
        "service": _SERVICE,
        "password_removed": True,
        "sender": {"name": "Sam Someone", "address": "sam@example.com"},
        "subject": "School places",
    },
    "flood_notice": {
        "service": _SERVICE,
        "domain": "oakfield.sch.example.uk",
        "cap": 20,
        "sender": {"name": "A Parent", "address": "parent41@oakfield.sch.example.uk"},
        "subject": "Cannot log in",
    },
    "held_reply": {
        "service": _SERVICE,
        "text": "Hello, this address is for schools; please ask your school office.",
        "officer": {"name": "Sam Okafor", "email": "sam@example.gov.uk"},
    },
    "held_digest": {
        "service": _SERVICE,
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
        "service": _SERVICE,
        "password_removed": True,
        "subject": "Scans of the network cabinet",
        "size_mb": 25.3,
        "true_mb": 18.5,
        "limit_mb": 15,
    },
}

# The monthly report: report.txt.j2 (subject and plain text) and report.html.j2
# (the HTML page) see the same variables.
_SAMPLE_REPORT: dict[str, Any] = {
    "service": _SERVICE,
    "month": {"id": "2026-11", "label": "November 2026"},
    "audience": {"label": "All schools", "school": False},
    "as_at": "8am on Tuesday 1 December 2026",
    "logged": 3,
    "by_type": [{"label": "Incident", "count": 2}, {"label": "Service request", "count": 1}],
    "by_priority": [{"label": "P2", "count": 1}, {"label": "P3", "count": 2}],
    "by_school": [
        {
            "name": "Oakfield Primary School",
            "label": "Oakfield Primary School",
            "logged": 3,
            "judged": 2,
            "in_target": 1,
            "missed": 1,
            "share": "50.0%",
            "aim": "",
            "met": None,
        },
    ],
    "targets": [
        {
            "label": "Incident",
            "judged": 2,
            "in_target": 1,
            "missed": 1,
            "share": "50.0%",
            "aim": "97%",
            "met": False,
        },
    ],
    "total": {
        "label": "All calls",
        "judged": 2,
        "in_target": 1,
        "missed": 1,
        "share": "50.0%",
        "aim": "",
        "met": None,
    },
    "not_yet_due": 1,
    "charts": {
        name: {"src": f"{name}.png", "width": 720, "height": 300, "alt": f"{name} chart"}
        for name in ("share", "volume")
    },
    "missed": [
        {
            "ref": "ICT-000123",
            "school": "Oakfield Primary School",
            "type": "Incident",
            "priority": "P2",
            "subject": "Internet very slow in the ICT suite",
            "logged": "23 Nov 2026 09:05",
            "target": "25 Nov 2026 09:05",
            "solved": "",
            "revised": "4 Dec 2026 17:00",
            "reason": "parts on order, agreed with the head",
        },
    ],
    "problems": [
        {
            "ref": "ICT-000130",
            "school": "Oakfield Primary School",
            "subject": "Recurring: Internet very slow in the ICT suite",
            "opened": "24 Nov 2026 10:00",
            "status": "open",
        },
    ],
    "incidents": [
        {
            "ref": "MI-0001",
            "title": "Internet service down across all schools",
            "declared": "23 Nov 2026 09:15",
            "resolved": "23 Nov 2026 11:25",
            "duration": "2 hours 10 minutes",
        },
    ],
    "csv_name": "calls-2026-11.csv",
}
SAMPLES["report"] = _SAMPLE_REPORT

# Pages (not emails) written as HTML: `NAME.html.j2`, rendered with every
# value HTML-escaped.  Each is checked against its sample data at load, like
# the email templates.  Features add their page's sample here.
_SAMPLE_INCIDENT = {
    "ref": "MI-0001",
    "title": "Internet service down across all schools",
    "status": "active",
    "email_down": False,
    "declared": "9.15am on Monday 23 November",
    "resolved": "",
    "duration": "2 hours 10 minutes",
    "updates": [
        {"label": "Update", "at": "10.30am on Monday 23 November", "text": "A fibre was cut."},
        {"label": "Declared", "at": "9.15am on Monday 23 November", "text": "No internet."},
    ],
}
PAGE_SAMPLES: dict[str, dict[str, Any]] = {
    "status_page": {
        "service": _SERVICE,
        "title": "Schools ICT service status",
        "url": "https://status.example.gov.uk/",
        "updated": "11.25am on Monday 23 November",
        "active": [_SAMPLE_INCIDENT],
        "recent": [{**_SAMPLE_INCIDENT, "status": "resolved", "resolved": "11.25am"}],
    },
}
PAGE_SAMPLES["report"] = _SAMPLE_REPORT
