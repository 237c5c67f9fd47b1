"""Sample data for the major-incident and planned-work templates."""

from __future__ import annotations

from typing import Any

from mailbot.rules.pagesamples import SERVICE
from mailbot.rules.samplecall import SAMPLE_CALL

INCIDENT_SAMPLES: dict[str, dict[str, Any]] = {
    "incident_notice": {
        "service": SERVICE,
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
        # A catch-up (catchup true) repeats every notice so far, oldest first.
        "catchup": True,
        "history": [
            {
                "kind": "declare",
                "label": "Declared",
                "at": "9.15am on Monday 23 November",
                "text": "The council's internet link failed.",
            },
            {
                "kind": "update",
                "label": "Update 1",
                "at": "10.30am on Monday 23 November",
                "text": "A fibre was cut.",
            },
        ],
    },
    "planned_notice": {
        "service": SERVICE,
        "incident": {
            "ref": "PW-0003",
            "title": "Firewall upgrade",
            "status": "planned",
            "email_down": False,
            "declared": "9.15am on Monday 23 November",
        },
        "notice": {"kind": "reminder", "seq": 2, "text": "Reminder.", "at": "6.30pm"},
        "work": {
            "starts": "6.30pm on Saturday 12 December",
            "ends": "9pm on Saturday 12 December",
            "services": "internet, web filtering",
            "status": "planned",
        },
        "recipient": {"name": "Helen Marsh", "lists": "All Headteachers"},
        "status_url": "https://status.example.gov.uk/",
    },
    "incident_status": {
        "service": SERVICE,
        "password_removed": True,
        "call": SAMPLE_CALL,
        "incident": {
            "ref": "MI-0001",
            "title": "Internet service down across all schools",
            "status": "active",
            "latest": "A fibre was cut near the exchange; engineers are on site.",
            "latest_at": "10.30am on Monday 23 November",
            "declared": "9.15am on Monday 23 November",
        },
        "status_url": "https://status.example.gov.uk/",
        # True for the person whose own call the incident was declared on.
        "reported_by_you": False,
    },
    "incident_followup": {
        "service": SERVICE,
        "password_removed": True,
        "call": SAMPLE_CALL,
        "incident": {
            "ref": "MI-0001",
            "title": "Internet service down across all schools",
            "status": "resolved",
            "latest": "The fibre was repaired at 11.40am.",
            "latest_at": "11.45am on Monday 23 November",
            "declared": "9.15am on Monday 23 November",
        },
        "status_url": "https://status.example.gov.uk/",
    },
}
