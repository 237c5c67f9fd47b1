"""The report's charts as PNG bytes, drawn headless with matplotlib (the only module using it).

Each chart is drawn on its own Figure with the Agg canvas, never through
pyplot, so no global state is shared between charts or threads.  Sizes,
fonts and colours are fixed and the PNG carries no software or time stamp,
so the same figures always give the same bytes.

matplotlib takes about half a second to import, and most processes that
import the reports never draw: the scheduler's tick finds a report due and
empty, `mailbot run --once` with nothing to report, the page layout.  So it
is imported when the first chart is drawn, not when this module is.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The size the HTML gives each image, in CSS pixels.  It is small enough for
# a phone to show it nearly whole (shrunk to about 330 px, the labels are
# still 10 px high), and each PNG holds SCALE pixels per CSS pixel so that
# high-density screens show it sharp.
WIDTH, HEIGHT, DPI, SCALE = 480, 320, 100, 2
# Tick and legend labels, in points; LABEL_PX is their height in CSS pixels
# when the image is shown at WIDTH.
LABEL_PT = 11
LABEL_PX = LABEL_PT * DPI / 72

# Colours per call type.  Each chart has its own palette, and neither appears
# anywhere else on the report's page, so a reader (or a test looking at a
# screenshot) can tell that the image itself was shown.
SHARE_COLOURS = {
    "incident": "#c2185b",
    "service_request": "#00897b",
    "change_request": "#7e57c2",
    "complaint": "#ef6c00",
}
VOLUME_COLOURS = {
    "incident": "#3949ab",
    "service_request": "#fbc02d",
    "change_request": "#43a047",
    "complaint": "#8d6e63",
}
_OTHER = "#9e9e9e"
_FONT = "DejaVu Sans"  # Shipped with matplotlib, so every machine draws the same glyphs.


@dataclass(frozen=True)
class Series:
    """One line or one stack of bars: a name, a value per label (None: no value)."""

    key: str
    label: str
    values: tuple[float | None, ...]
    aim: float | None = None


def _figure() -> Figure:
    # Imported on first use (see the module's docstring); later calls find them loaded.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI * SCALE, facecolor="white")
    # The Agg canvas renders without a display; attaching it is all it takes.
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software" text chunk: the bytes depend on the figures alone.
    figure.savefig(buffer, format="png", dpi=DPI * SCALE, metadata={"Software": None})
    return buffer.getvalue()


def _style(axes: Axes, labels: Sequence[str]) -> None:
    # Half a slot either side, so the first and last months are drawn whole.
    axes.set_xlim(-0.5, len(labels) - 0.5)
    axes.set_xticks(range(len(labels)))
    axes.set_xticklabels(labels, fontsize=LABEL_PT, fontfamily=_FONT)
    for label in axes.get_yticklabels():
        label.set_fontfamily(_FONT)
        label.set_fontsize(LABEL_PT)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    axes.set_axisbelow(True)


def _legend(axes: Axes) -> None:
    if not axes.get_legend_handles_labels()[0]:
        return  # Nothing drawn, nothing to name.
    # Below the plot rather than beside it, so the plot has the whole width.
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.45, -0.19),
        ncol=2,
        frameon=False,
        prop={"family": _FONT, "size": LABEL_PT},
    )


# Where the plot sits (left, bottom, width, height as shares of the image):
# room on the left for the labels, and below for the months and the legend.
_AXES = (0.12, 0.36, 0.85, 0.6)


def share_chart(labels: Sequence[str], lines: Sequence[Series]) -> bytes:
    """The share fixed within target per month, a line per call type, with its aim dashed."""
    figure = _figure()
    axes = figure.add_axes(_AXES)
    for line in lines:
        colour = SHARE_COLOURS.get(line.key, _OTHER)
        values = [math.nan if v is None else v * 100 for v in line.values]
        axes.plot(
            range(len(labels)),
            values,
            color=colour,
            linewidth=2.5,
            marker="o",
            markersize=7,
            label=line.label,
        )
        if line.aim is not None:
            axes.axhline(
                line.aim * 100,
                color=colour,
                linewidth=1,
                linestyle=(0, (4, 3)),
                label=f"aim {line.aim * 100:g}%",
            )
    axes.set_ylim(0, 105)
    axes.set_yticks([0, 20, 40, 60, 80, 100])
    axes.set_yticklabels(["0%", "20%", "40%", "60%", "80%", "100%"])
    _style(axes, labels)
    _legend(axes)
    return _png(figure)


def volume_chart(labels: Sequence[str], stacks: Sequence[Series]) -> bytes:
    """Calls logged per month, stacked by call type."""
    figure = _figure()
    axes = figure.add_axes(_AXES)
    bottom = [0.0] * len(labels)
    for stack in stacks:
        values = [v or 0.0 for v in stack.values]
        axes.bar(
            range(len(labels)),
            values,
            bottom=bottom,
            width=0.7,
            color=VOLUME_COLOURS.get(stack.key, _OTHER),
            label=stack.label,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0.0)
    axes.set_ylim(0, max(4.0, top * 1.1))
    # Whole numbers only: these are counts of calls.
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _style(axes, labels)
    _legend(axes)
    return _png(figure)
