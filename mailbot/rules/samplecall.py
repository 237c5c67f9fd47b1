"""The sample call, change and officer that the templates' sample data share."""

from __future__ import annotations

SAMPLE_CALL = {
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
    "emergency": False,
}
SAMPLE_CHANGE = {
    **SAMPLE_CALL,
    "subject": "Please open port 8443 on the firewall",
    "type": "change_request",
    "type_label": "Change request",
    "priority": "P3",
    "topic": "Oakfield Primary School: Please open port 8443 on the firewall",
    "status": "awaiting_approval",
}
# What the school's change emails know of their reader (approval/board.py).
CHANGE_READER = {
    "emergency": False,
    "school_asked": True,
    "requester_is_head": False,
    "headteacher": "Helen Marsh",
}
COMMANDS = [
    "#assign NAME   #priority P1-P4   #status STATUS   #solved",
    "#deadline DATE REASON   #note   #help",
]
OFFICER = {"name": "Sam Okafor", "email": "sam.okafor@example.gov.uk"}
