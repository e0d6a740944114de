"""Every character the board, detail and alerts draw reads at 4.5:1 or better (WCAG AA
for normal text), in each shipped theme, highlighted row included; graphics (sparklines,
plots, scrollbars: block elements only) at 3:1, WCAG's bar for non-text contrast."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.terminal_theme import TerminalTheme

from tests.tui.test_app import settle
from tests.tui.test_snapshots import quiet_app
from tui.legible import MIN_CONTRAST, contrast

#: Themes floorwatch ships with and documents (docs/tui.md): dark, light, 16 colors.
THEMES = ("textual-dark", "textual-light", "ansi-dark", "ansi-light")
GRAPHICS = 3.0


def _rgb(color: Color | None, default: tuple[int, int, int],
         palette: TerminalTheme) -> tuple[int, int, int]:
    """A segment's color as the terminal shows it; ANSI colors as in `palette`."""
    if color is None or color.is_default:
        return default
    return tuple(color.get_truecolor(palette))


def low_contrast(app) -> list[str]:
    """Each run of text drawn at under MIN_CONTRAST, with its ratio."""
    found = []
    theme = app.ansi_theme  # the terminal palette Textual assumes for the theme
    fg0, bg0 = tuple(theme.foreground_color), tuple(theme.background_color)
    for y, strip in enumerate(app.screen._compositor.render_strips()):  # what is on screen
        for segment in strip:
            style = segment.style
            if style is None or not segment.text.strip():
                continue
            fg, bg = _rgb(style.color, fg0, theme), _rgb(style.bgcolor, bg0, theme)
            if style.reverse:
                fg, bg = bg, fg
            if style.dim:  # terminals draw dim text halfway to its background
                fg = tuple((a + b) // 2 for a, b in zip(fg, bg, strict=True))
            ratio = contrast(fg, bg)
            graphic = all(0x2580 <= ord(c) <= 0x259F for c in segment.text.strip())
            if ratio < (GRAPHICS if graphic else MIN_CONTRAST):
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


@pytest.mark.parametrize("theme", THEMES)
async def test_the_boards_scrollbar_thumb_stands_out_at_3_to_1(theme: str):
    """The board draws its own scrollbar (tui.board.thumb): a coloured cell on a track.
    A thumb no one can see says nothing about where on the floor the view is."""
    from tui.board import Board

    app, feed = quiet_app(theme)
    async with app.run_test(size=(80, 8)) as pilot:  # 5 rows in view: a thumb shows
        await settle(pilot, feed)
        board = app.screen.query_one(Board)
        palette = app.ansi_theme
        bg0 = tuple(palette.background_color)
        track, on_thumb = (_rgb(bar.style.bgcolor, bg0, palette) for bar in board._bars)
        cells = [list(board.render_line(y))[-1] for y in range(1, board.size.height)]
        assert any(cell.style == board._bars[True].style for cell in cells)
        assert contrast(track, on_thumb) >= GRAPHICS
