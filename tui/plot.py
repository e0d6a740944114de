"""A live plot of one party's level against their own baseline, spikes shaded.

Drawn with the Line API in eighth-block columns: one column per second of
event time, newest on the right, the baseline as a dashed line, and the columns
where that party's spike was active on a shaded background (the title says
"SPIKE" too, so the shading is never the only cue).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from feeds.floor.view import Point

EIGHTHS = " ▁▂▃▄▅▆▇█"


class LevelPlot(Widget):
    """One metric of one party over the last points of a call."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"plot--title", "plot--bar", "plot--base",
                                             "plot--spike"}

    points: reactive[tuple[Point, ...]] = reactive((), layout=False)
    baseline: reactive[float | None] = reactive(None, layout=False)
    spiking: reactive[bool] = reactive(False, layout=False)  # the party's spike now

    def __init__(self, title: str, short: str, metric: str, spike: str, low: float,
                 high: float, unit: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.short = short  # used when the long title would push SPIKE off a narrow plot
        self.metric = metric
        self.spike = spike
        self.low, self.high = low, high
        self.unit = unit

    def _values(self, width: int) -> Sequence[tuple[float | None, bool]]:
        pts = self.points[-width:]
        return [(getattr(p, self.metric), getattr(p, self.spike)) for p in pts]

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        base = self.rich_style
        values = self._values(width)
        if y == 0:
            now = next((v for v, _ in reversed(values) if v is not None), None)
            parts = [self.title]
            parts.append("now —" if now is None else f"now {now:.0f}")
            parts.append("base —" if self.baseline is None else f"base {self.baseline:.0f}")
            parts.append(self.unit)
            if self.spiking:
                parts.append("SPIKE")
            text = "  ".join(parts)
            if len(text) > width:
                text = " ".join([self.short, *parts[1:3], *parts[4:]])
            return Strip([Segment(text[:width].ljust(width),
                                  base + self._style("plot--title"))], width)
        rows = height - 1
        row = rows - y  # 0 is the bottom row
        span = self.high - self.low
        base_row = None
        if self.baseline is not None:
            level = (min(max(self.baseline, self.low), self.high) - self.low) / span * rows
            base_row = min(rows - 1, int(level))
        bar = base + self._style("plot--bar")
        shade = self._style("plot--spike")
        dash = base + self._style("plot--base")
        segments = [Segment(" " * (width - len(values)), base)] if len(values) < width else []
        for value, spiking in values:
            char = " "
            if value is not None:
                eighths = int((min(max(value, self.low), self.high) - self.low) / span
                              * rows * 8)
                fill = eighths - row * 8
                char = EIGHTHS[max(0, min(8, fill))]
            style = bar
            if char == " " and row == base_row:
                char, style = "╌", dash
            if spiking:
                style = style + shade
            segments.append(Segment(char, style))
        return Strip(segments, width)

    def watch_points(self) -> None:
        self.refresh()

    def watch_baseline(self) -> None:
        self.refresh()

    def watch_spiking(self) -> None:
        self.refresh()
