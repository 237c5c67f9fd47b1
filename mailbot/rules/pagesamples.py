"""Sample data for the pages rules check renders (the monthly report, the status page)."""

from __future__ import annotations

from typing import Any

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
        "updated": "11.25am on Monday 23 November",
        "active": [_SAMPLE_INCIDENT],
        "recent": [{**_SAMPLE_INCIDENT, "status": "resolved", "resolved": "11.25am"}],
    },
}
PAGE_SAMPLES["report"] = REPORT

_TERM_SUMMARY = {
    "label": "Autumn term 2026",
    "logged": 3,
    "total": REPORT["total"],
    "targets": REPORT["targets"],
    "satisfaction": REPORT["satisfaction"],
}
PAGE_SAMPLES["review"] = {
    "service": SERVICE,
    "term": {
        "id": "autumn-2026",
        "label": "Autumn term 2026",
        "first": "03 September 2026",
        "last": "18 December 2026",
    },
    "audience": {"label": "Oakfield Primary School", "school": True},
    "as_at": "8am on Monday 21 December 2026",
    "by_type": REPORT["by_type"],
    "by_priority": REPORT["by_priority"],
    "current": _TERM_SUMMARY,
    "previous": {**_TERM_SUMMARY, "label": "Summer term 2026"},
    "missed": [
        {
            "ref": "ICT-000123",
            "school": "Oakfield Primary School",
            "type": "Incident",
            "priority": "P2",
            "subject": "Internet very slow in the ICT suite",
            "why": "not solved by its target 25 Nov 2026 09:05",
        },
    ],
    "problems": REPORT["problems"],
    "incidents": REPORT["incidents"],
    "csv_name": "review-autumn-2026-oakfield-primary.csv",
}
