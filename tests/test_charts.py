"""The report's charts: PNGs of a fixed size, the same bytes for the same figures."""

from __future__ import annotations

import io

from PIL import Image

from mailbot.reports import charts

LABELS = [f"M{n}\n2026" for n in range(12)]
LINES = [
    charts.Series("incident", "Incident", (None,) * 10 + (0.9, 1.0), 0.97),
    charts.Series("service_request", "Service request", (None,) * 11 + (0.5,), 0.87),
]
STACKS = [
    charts.Series("incident", "Incident", (0.0,) * 11 + (20.0,)),
    charts.Series("complaint", "Complaint", (1.0,) * 12),
]


def colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (charts.WIDTH * charts.SCALE, charts.HEIGHT * charts.SCALE)
    return {rgb for _, rgb in image.getcolors(maxcolors=1 << 24) or []}


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def test_the_share_chart_draws_each_type_in_its_own_colour() -> None:
    found = colours(charts.share_chart(LABELS, LINES))
    assert rgb(charts.SHARE_COLOURS["incident"]) in found
    assert rgb(charts.SHARE_COLOURS["service_request"]) in found


def test_the_volume_chart_stacks_each_type_in_its_own_colour() -> None:
    found = colours(charts.volume_chart(LABELS, STACKS))
    assert rgb(charts.VOLUME_COLOURS["incident"]) in found
    assert rgb(charts.VOLUME_COLOURS["complaint"]) in found
    assert rgb(charts.SHARE_COLOURS["incident"]) not in found


def test_the_same_figures_give_the_same_bytes_with_no_software_stamp() -> None:
    first = charts.share_chart(LABELS, LINES)
    assert first == charts.share_chart(LABELS, LINES)
    assert b"matplotlib" not in first and b"Software" not in first
    assert charts.volume_chart(LABELS, STACKS) == charts.volume_chart(LABELS, STACKS)


def test_a_month_with_no_calls_draws_an_empty_chart_without_failing() -> None:
    empty = [charts.Series("incident", "Incident", (None,) * 12, 0.97)]
    assert charts.share_chart(LABELS, empty).startswith(b"\x89PNG")
    assert charts.volume_chart(LABELS, []).startswith(b"\x89PNG")
