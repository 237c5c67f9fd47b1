"""Sample data rules check renders the termly service review pack with (text and page)."""

from __future__ import annotations

from typing import Any

# The service as pagesamples.SERVICE shows it (that module registers this one's
# sample, so it cannot be imported from here).
SERVICE = {"name": "Schools ICT Support", "address": "ictsupport@example.gov.uk"}

_SHARE = {
    "label": "Incident",
    "judged": 10,
    "in_target": 9,
    "missed": 1,
    "share": "90.0%",
    "aim": "97%",
    "met": False,
}

# review.txt.j2 and review.html.j2 see the same variables; satisfaction and
# availability are given here so that their sections are checked too.
REVIEW: dict[str, Any] = {
    "service": SERVICE,
    "term": {
        "id": "autumn-2026",
        "label": "Autumn 2026",
        "first": "3 September 2026",
        "last": "18 December 2026",
    },
    "audience": {"label": "All schools", "school": False},
    "as_at": "midnight on Saturday 19 December 2026",
    "logged": 12,
    "by_type": [{"label": "Incident", "count": 10}, {"label": "Service request", "count": 2}],
    "by_priority": [{"label": "P2", "count": 4}, {"label": "P3", "count": 8}],
    "by_school": [{**_SHARE, "label": "Oakfield Primary School", "logged": 12}],
    "targets": [_SHARE],
    "total": {**_SHARE, "label": "All calls", "aim": "", "met": None},
    "not_yet_due": 1,
    "compare": {
        "term": "Summer 2026",
        "logged": 9,
        "logged_change": 3,
        "rows": [
            {"label": "Incident", "share": "90.0%", "previous": "100.0%", "change": "-10.0 points"}
        ],
    },
    "charts": {
        name: {"src": f"{name}.png", "width": 720, "height": 300, "alt": name}
        for name in ("share", "volume")
    },
    "missed": [
        {
            "ref": "ICT-000123",
            "school": "Oakfield Primary School",
            "type": "Incident",
            "priority": "P3",
            "subject": "Printer offline",
            "target": "24 Nov 2026 17:00",
            "solved": "",
            "reason": "Waiting for a part from the supplier",
        }
    ],
    "satisfaction": {"mean": "4.2", "count": 5, "comments": ["Quick and friendly"]},
    "availability": [
        {
            "service": "Internet",
            "percent": "99.62%",
            "target": "99.5%",
            "met": True,
            "incidents": "INC-0001",
        }
    ],
    "incidents": [
        {
            "ref": "INC-0001",
            "title": "No internet",
            "declared": "23 Nov 2026 09:15",
            "resolved": "23 Nov 2026 11:25",
            "duration": "2 hours 10 minutes",
        }
    ],
    "problems": [
        {
            "ref": "ICT-000130",
            "school": "Oakfield Primary School",
            "subject": "Printer keeps dropping off",
            "opened": "30 Nov 2026 10:00",
            "status": "in progress",
        }
    ],
    "csv_name": "review-autumn-2026.csv",
}
