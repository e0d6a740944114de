"""Every character the board, detail and alerts draw reads at 4.5:1 or better (WCAG AA
for normal text), in each shipped theme, highlighted row included."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.terminal_theme import DEFAULT_TERMINAL_THEME

from tests.tui.test_app import settle
from tests.tui.test_snapshots import quiet_app

#: Themes floorwatch ships with and documents (docs/tui.md): dark, light, 16 colors.
THEMES = ("textual-dark", "textual-light", "ansi-dark", "ansi-light")
MIN_RATIO = 4.5


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: tuple[int, int, int], bg: tuple[int, int, int]) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(color: Color | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    """A segment's color as the terminal shows it; ANSI colors as xterm's palette."""
    if color is None or color.is_default:
        return default
    return tuple(color.get_truecolor(DEFAULT_TERMINAL_THEME))


def low_contrast(app) -> list[str]:
    """Each run of text drawn at under MIN_RATIO, with its ratio."""
    found = []
    theme = DEFAULT_TERMINAL_THEME
    fg0, bg0 = tuple(theme.foreground_color), tuple(theme.background_color)
    for y, strip in enumerate(app.screen._compositor.render_strips()):  # what is on screen
        for segment in strip:
            style = segment.style
            if style is None or not segment.text.strip():
                continue
            fg, bg = _rgb(style.color, fg0), _rgb(style.bgcolor, bg0)
            if style.reverse:
                fg, bg = bg, fg
            if style.dim:  # terminals draw dim text halfway to its background
                fg = tuple((a + b) // 2 for a, b in zip(fg, bg, strict=True))
            ratio = contrast(fg, bg)
            if ratio < MIN_RATIO:
                found.append(f"line {y}: {segment.text.strip()[:30]!r} {ratio:.1f}:1")
    return found


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", ["board", "detail", "alerts"])
async def test_text_reads_at_4_5_to_1(theme: str, screen: str):
    app, feed = quiet_app(theme)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, feed)
        if screen == "detail":
            await pilot.press("down", "enter")
        elif screen == "alerts":
            await pilot.press("2")
        await settle(pilot, feed)
        assert low_contrast(app) == []
