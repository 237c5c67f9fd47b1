"""Sample data for the pages rules check renders (the monthly report, the status page)."""

from __future__ import annotations

from typing import Any

from mailbot.rules.reviewsamples import REVIEW

# The service as every sample, email or page, shows it.
SERVICE = {"name": "Schools ICT Support", "address": "ictsupport@example.gov.uk"}

# The monthly report: report.txt.j2 (subject and plain text) and report.html.j2
# (the HTML page) see the same variables.
REPORT: dict[str, Any] = {
    "service": SERVICE,
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
    "not_worked": 1,
    "charts": {
        name: {"src": f"{name}.png", "width": 480, "height": 320, "alt": f"{name} chart"}
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
            "target": "4 Dec 2026 17:00",
            "original": "25 Nov 2026 09:05",
            "solved": "",
            "revised": "4 Dec 2026 17:00",
            "revised_reason": "parts on order, agreed with the head",
            "reason": "the supplier sent the wrong switch",
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
    "availability": [
        {
            "service": "internet",
            "percent": "98.75",
            "hours_minutes": 12000,
            "down_minutes": 150,
            "target": "99.5",
            "met": False,
            "incidents": [
                {
                    "ref": "MI-0001",
                    "title": "Internet service down across all schools",
                    "outage": "full",
                    "minutes": 150,
                    "counted": True,
                },
            ],
        },
    ],
    "availability_target": "99.5",
    "satisfaction": {
        "count": 2,
        "mean": "3.0",
        "scale": 5,
        "comments": [
            {
                "ref": "ICT-000118",
                "school": "Oakfield Primary School",
                "score": 1,
                "text": "Nobody told us when the engineer was coming.",
            },
        ],
    },
    "csv_name": "calls-2026-11.csv",
}

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
        "service": SERVICE,
        "title": "Schools ICT service status",
        "url": "https://status.example.gov.uk/",
        "updated": "11.25am on Monday 23 November 2026",
        "phone": "01632 960000",
        "email_down": True,
        "active": [_SAMPLE_INCIDENT],
        "recent": [{**_SAMPLE_INCIDENT, "status": "resolved", "resolved": "11.25am"}],
        "planned": [
            {
                "ref": "PW-0003",
                "title": "Firewall upgrade",
                "status": "planned",
                "starts": "6.30pm on Saturday 12 December",
                "ends": "9pm on Saturday 12 December",
                "services": "internet, web filtering",
                "updates": [{"label": "Planned", "at": "9am on Monday 7 December", "text": "x"}],
            }
        ],
    },
}
PAGE_SAMPLES["report"] = REPORT
PAGE_SAMPLES["review"] = REVIEW
