"""Every cell floorwatch draws reads at 4.5:1 or better (WCAG AA for normal text).

A theme's colours are chosen for a widget library's demo, not for a board read at a
glance from across a desk: Textual's dark theme draws the highlighted row at 1.5:1, its
light theme the column header at 1.3:1. Rather than guess colours per theme, the app
runs this line filter over everything it draws: a cell whose text is too close to its
background has its text colour moved towards black or white, keeping its hue, until it
reads. Colours a terminal chooses itself (the 16-colour `ansi-*` themes) are the
terminal's; docs/tui.md says which themes are checked and how (tests/tui/test_contrast.py).
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color as RichColor
from rich.color import ColorType
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

MIN_CONTRAST = 4.5
RGB = tuple[int, int, int]


def luminance(rgb: RGB) -> float:
    """Relative luminance (WCAG 2)."""
    def channel(c: int) -> float:
        c_ = c / 255
        return c_ / 12.92 if c_ <= 0.03928 else ((c_ + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RGB, b: RGB) -> float:
    """The WCAG contrast ratio of two colours, from 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _blend(a: RGB, b: RGB, amount: float) -> RGB:
    return tuple(round(x + (y - x) * amount) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def readable(fg: RGB, bg: RGB) -> RGB:
    """`fg`, or the nearest colour on its way to black or white that reads on `bg`."""
    if contrast(fg, bg) >= MIN_CONTRAST:
        return fg
    to: RGB = (0, 0, 0) if contrast((0, 0, 0), bg) > contrast((255, 255, 255), bg) \
        else (255, 255, 255)
    for step in range(1, 21):
        moved = _blend(fg, to, step / 20)
        if contrast(moved, bg) >= MIN_CONTRAST:
            return moved
    return to


def _rgb(color: RichColor | None) -> RGB | None:
    if color is None or color.type is not ColorType.TRUECOLOR or color.triplet is None:
        return None
    return tuple(color.triplet)  # type: ignore[return-value]


@lru_cache(4096)
def legible_style(style: Style, background: RichColor) -> Style:
    """`style` with a text colour that reads on its background (dim text: on the colour a
    terminal draws it in, halfway to the background, or not dim)."""
    fg, bg = _rgb(style.color), _rgb(style.bgcolor) or _rgb(background)
    if style.reverse:
        fg, bg = bg, fg
    if fg is None or bg is None:
        return style
    shown = _blend(fg, bg, 0.5) if style.dim else fg
    if contrast(shown, bg) >= MIN_CONTRAST:
        return style
    better = RichColor.from_rgb(*readable(shown, bg))
    if style.reverse:
        return style + Style(bgcolor=better, dim=False)
    return style + Style(color=better, dim=False)


class Legible(LineFilter):
    """The line filter the app adds to Textual's own (`FloorwatchApp.get_line_filters`)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The same list when every segment already reads, which is nearly always."""
        back = background.rich_color
        out = None
        for i, (text, style, control) in enumerate(segments):
            if style is None or control:
                continue
            better = legible_style(style, back)
            if better is not style:
                if out is None:
                    out = list(segments)
                out[i] = Segment(text, better, control)
        return segments if out is None else out
