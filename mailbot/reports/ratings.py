"""The satisfaction figures a report shows: how many rated, the mean, and what they said."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mailbot.reports.figures import CallRow


def summary(
    rated: Iterable[CallRow], scale: int, school: Callable[[str | None], str]
) -> dict[str, Any]:
    """What the report templates are told of satisfaction (see rules/README.md).

    ``school`` names a school from its id, for the comments' list.
    """
    rows = list(rated)
    scores = [c.rating for c in rows if c.rating is not None]
    mean = sum(scores) / len(scores) if scores else None
    return {
        "count": len(scores),
        "mean": f"{mean:.1f}" if mean is not None else "",
        "scale": scale,
        "comments": [
            {
                "ref": c.ref,
                "school": school(c.school_id),
                "score": c.rating,
                "text": c.rating_comment,
            }
            for c in rows
            if c.rating_comment
        ],
    }
