"""The floor board: one line per live call, drawn with Textual's Line API.

A DataTable keeps a cell object per value and re-measures on every update; a
floor of 5,000 calls changing four times a second is too much for that. This
widget keeps only the rows (immutable `CallRow`s) and the order, and draws the
lines that are on screen, caching each drawn line until its row, the second
it shows or the width changes. Columns are dropped by priority when the
terminal is narrow, so 80 columns still show what matters most.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import ClassVar, NamedTuple, Self

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from feeds.floor.call import TREND_LEN
from feeds.floor.view import AWAITING, CallRow
from tui.format import badge_style, cut, duration, minutes, sparkline, why


class Line(NamedTuple):
    """One line of the board as drawn: its cells (a row's, one per column, with the
    space after it; None for the header and blank lines) and its strip."""

    cells: tuple[tuple[Segment, ...], ...] | None
    strip: Strip


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


#: key -> (title, minimum width, right-aligned), in display order.
SPEC: dict[str, tuple[str, int, bool]] = {
    "flags": ("FLAGS", 5, False),
    "agent": ("AGENT", 12, False),
    "team": ("TEAM", 4, False),
    "queue": ("QUEUE", 10, False),
    "time": ("CALL", 5, True),
    "state": ("STATE", 14, False),
    "hold": ("ΣHOLD", 5, True),
    "xfer": ("XF", 2, True),
    "talk": ("TO", 2, True),
    "cust": ("CUST dB", 7, False),
    "agentlvl": ("AGT dB", 7, False),
    "pitch": ("CUST Hz", 7, False),
    "agentpitch": ("AGT Hz", 7, False),
    "why": ("WHY", 26, False),
}
#: The order columns are given room in (docs/tui.md): the first four always, the rest
#: while they fit at their minimum width; WHY only from WHY_FROM columns on.
PRIORITY = ("flags", "agent", "state", "cust", "time", "team", "hold", "xfer", "talk",
            "agentlvl", "why", "queue", "pitch", "agentpitch")
ALWAYS = 4
WHY_FROM = 120
#: Widths the text columns grow to, in this order, before the sparklines get the rest.
FLAGS_MAX, AGENT_MAX, TEAM_MAX, QUEUE_MAX, WHY_MAX = 8, 18, 12, 14, 48
SPARK_FIRST = 16
SPARKS = ("cust", "agentlvl", "pitch", "agentpitch")
#: The trend each sparkline column draws.
SPARK_TRENDS = ("cust_db", "agent_db", "cust_pitch", "agent_pitch")
#: Seconds of event time a line's sparklines move by at once. A line is written to the
#: terminal whole, so what changes it every second costs a line a second per call: over
#: SSH that is the board's bandwidth (docs/performance.md). Sparklines move ten cells
#: every ten seconds, the call's age is shown in minutes; a hold counts every second.
SPARK_STEP = 10
#: What a line shows of its row besides its clocks and sparklines. Levels come four
#: times a second, but a line shows none of them: a row that changed only there keeps
#: its drawn line.
LOOK = itemgetter(*(i for i, name in enumerate(CallRow._fields)
                    if name not in ("t", "levels", "baselines", "trends", "trend_t")))


#: The board's scrollable height goes up and down in steps of this many lines: a new
#: height moves the scrollbar's thumb on every line, and calls come and go every second.
HEIGHT_STEP = 32


def thumb(lines: int, height: int, top: int) -> range:
    """The rows (0 = the first under the header) the scrollbar's thumb covers, for
    `lines` to scroll over in a board `height` lines high scrolled to `top`; none when
    everything fits. The board draws its own scrollbar in its last column: Textual's
    is a widget of its own whose every line costs as much to composite as a row, so a
    scrolled board cost twice its rows (docs/performance.md)."""
    rows = height - 1
    if lines <= height or rows <= 0:
        return range(0)
    size = max(1, round(rows * height / lines))
    start = round((rows - size) * min(top, lines - height) / (lines - height))
    return range(start, start + size)


def _virtual_height(rows: int, height: int) -> int:
    """Lines to scroll over: the header and the rows, rounded up to a HEIGHT_STEP once
    they do not all fit in `height` (until then there is nothing to scroll)."""
    lines = rows + 1
    return lines if lines <= height else -(-lines // HEIGHT_STEP) * HEIGHT_STEP


#: Seconds a sparkline shows: the trend a row keeps less one step, so a full trend's
#: oldest seconds, which fall off every second, are never on screen.
SPARK_SECONDS = TREND_LEN - SPARK_STEP


def shown_trend(row: CallRow, name: str) -> tuple[float | None, ...]:
    """A trend as its sparkline shows it: the SPARK_SECONDS up to the last second that
    ends a SPARK_STEP of the call's event time, so it moves SPARK_STEP cells at once (a
    new call's first SPARK_STEP seconds one by one, so it shows something at once).
    Each call steps at its own second of the ten (`_phase`): the board redraws a tenth
    of its rows each second, not all of them in one frame every ten."""
    trend = row.trend(name)
    if len(trend) < SPARK_STEP:
        return trend
    end = row.trend_t if row.trend_t is not None else int(row.t)
    stop = len(trend) - (end + 1 + _phase(row.call)) % SPARK_STEP
    return trend[max(0, stop - SPARK_SECONDS):stop]


@lru_cache(maxsize=16_384)
def _phase(call: str) -> int:
    """A call's second within each SPARK_STEP, the same in every process (no `hash`)."""
    return zlib.crc32(call.encode()) % SPARK_STEP


def _look(row: CallRow) -> tuple:
    """Everything a drawn line depends on: two rows with the same look draw the same."""
    return (LOOK(row), int(row.call_time()) // 60, int(row.hold_time()),
            [shown_trend(row, name) for name in SPARK_TRENDS], why(row))


def layout(width: int, team: int = 8) -> list[Column]:
    """The columns that fit in `width`, in display order, sized to it.

    `team` is the longest team name on the floor, so the team column is as wide
    as its names (up to TEAM_MAX) and they are not cut at 80 columns.
    """
    widths = {key: spec[1] for key, spec in SPEC.items()}
    widths["team"] = max(4, min(team, TEAM_MAX))
    chosen: set[str] = set()
    used = 0
    for i, key in enumerate(PRIORITY):
        if key == "why" and width < WHY_FROM:
            continue
        need = widths[key] + 1
        if i < ALWAYS or used + need <= width:
            chosen.add(key)
            used += need
    spare = width - used

    def grow(key: str, to: int) -> None:
        nonlocal spare
        if key in chosen:
            extra = max(0, min(spare, to - widths[key]))
            widths[key] += extra
            spare -= extra

    grow("agent", AGENT_MAX)
    grow("flags", FLAGS_MAX)
    grow("queue", QUEUE_MAX)
    sparks = [k for k in SPARKS if k in chosen]

    def share(to: int) -> None:
        """The sparklines share what is left, each up to `to` cells."""
        if sparks:
            each = min(spare // len(sparks), to - widths[sparks[0]])
            for key in sparks:
                grow(key, widths[key] + each)

    share(SPARK_FIRST)
    grow("why", WHY_MAX)
    grow("agent", AGENT_MAX + 6)
    share(SPARK_SECONDS)  # seconds a sparkline shows: wider would only show blanks
    grow("why", width)
    return [Column(key, SPEC[key][0], widths[key], SPEC[key][2])
            for key in SPEC if key in chosen]


class Board(ScrollView, can_focus=True):
    """Live calls, most in need first; the cursor stays on its call while rows move."""

    BINDINGS: ClassVar = [
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home,g", "jump(0)", "Top", show=False),
        Binding("end,G", "jump(-1)", "Bottom", show=False),
        Binding("enter", "open", "Detail"),
    ]

    #: Part of what the widget is, wherever it is mounted: it draws its own scrollbar
    #: (`thumb`). Colours are the app's (tui/styles/app.tcss).
    DEFAULT_CSS = "Board { scrollbar-size-vertical: 0; }"

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "board--header",
        "board--cursor",
        "board--hold",
        "board--nofeed",
        "board--spike",
        "board--empty",
        "board--scrollbar",
        "board--scrollbar-thumb",
        "badge--intervene",
        "badge--coach",
        "badge--kudos",
        "badge--quiet",
    }

    class Opened(Message):
        """The supervisor asked to see a call in detail."""

        def __init__(self, call: str) -> None:
            super().__init__()
            self.call = call

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: Mapping[str, CallRow] = {}
        self.order: list[str] = []
        self.empty_text = "no live calls"
        self.cursor = 0
        self._stay_put: str | None = None  # the call acted on: its move leaves the cursor
        self._index: dict[str, int] = {}
        self._cache: dict[str, tuple[CallRow, tuple, Line]] = {}
        self._drawn: dict[int, Line] = {}  # what the terminal shows on each line
        self._drawn_thumb = range(0)  # and where it shows the scrollbar's thumb
        self._columns: list[Column] = []
        self._base: Style | None = None  # rich_style, kept from one refresh to the next
        self._bars = (Segment(" "), Segment(" "))  # the scrollbar's track and thumb cells
        self._team_width = 8  # the longest team name on the floor, for the layout
        self.repaints = 0  # full repaints of the board, for the benchmark
        self.moves = 0  # cursor moves asked for, and the last one a repaint showed:
        self.painted_moves = 0  # the benchmark's key -> repaint latency

    # --- data in ---------------------------------------------------------------

    @property
    def cursor_call(self) -> str | None:
        return self.order[self.cursor] if 0 <= self.cursor < len(self.order) else None

    def stay_put(self) -> None:
        """The call under the cursor is being acted on: when it moves, keep the cursor's
        place instead of following it (the urgent rows stay in view)."""
        self._stay_put = self.cursor_call

    def show(self, rows: Mapping[str, CallRow], order: Sequence[str] | None,
             empty_text: str, changed: Set[str], teams: Set[str] = frozenset()) -> None:
        """New rows (and a new order, when it changed); keep the cursor on its call.
        Repaints only when something on screen changed: a shown row, the order, the text,
        or the longest team name (the layout). Timers are the rows' own event time, so
        they move only when their row does."""
        team_width = max(map(len, teams), default=self._team_width)
        if team_width != self._team_width:
            self._team_width = team_width
            self._relayout(self.size.width)
        keep, cursor = self.cursor_call, self.cursor
        top = int(self.scroll_offset.y)
        height = self.size.height
        shown = self.order[top:top + height]
        # What each line showed, so that only lines whose drawing changes are written to
        # the terminal again: over SSH a line rewritten is a line's bytes on the link.
        looks = {call: _look(self._cache[call][0]) for call in shown
                 if call in changed and call in self._cache}
        self.rows = rows
        text_changed = empty_text != self.empty_text
        self.empty_text = empty_text
        if order is not None and list(order) != self.order:
            self.order = list(order)
            self._index = {call: i for i, call in enumerate(self.order)}
            if keep is not None and keep == self._stay_put:
                # The call acted on moves (acked, snoozed): the cursor stays where the
                # supervisor is, on whatever now holds that place, not with the call.
                self._stay_put = None
            elif keep in self._index:
                self.cursor = self._index[keep]
            self.cursor = max(0, min(self.cursor, len(self.order) - 1))
            self.virtual_size = Size(self.size.width,
                                     _virtual_height(len(self.order), self.size.height))
            self._keep_cursor_visible()
        if len(self._cache) > 4 * max(64, height):  # keep what is on screen: see `looks`
            self._cache = {call: self._cache[call] for call in shown if call in self._cache}
        if text_changed or int(self.scroll_offset.y) != top or not self.order:
            self.refresh()
            return
        for row in sorted(set(self._thumb()) ^ set(self._drawn_thumb)):  # the scrollbar:
            self.refresh(Region(self.size.width - 1, row + 1, 1, 1))  # its cells that moved
        self._drawn_thumb = self._thumb()
        now_shown = self.order[top:top + height]
        lines = {line for line in (cursor - top + 1, self.cursor - top + 1)
                 if cursor != self.cursor and 0 < line <= height}
        for line in range(1, max(len(shown), len(now_shown)) + 1):
            was = shown[line - 1] if line <= len(shown) else None
            call = now_shown[line - 1] if line <= len(now_shown) else None
            if call != was or (call in changed and (
                    call not in looks or call not in rows or looks[call] != _look(rows[call]))):
                lines.add(line)
        for line in sorted(lines):
            self.refresh(self._changed_part(line))

    def _changed_part(self, y: int) -> Region:
        """The part of line `y` that its next drawing changes: from the first column that
        differs from what the terminal shows to the last. Textual writes a refreshed line
        up to the end of the region refreshed, so a clock ticking near the left of a
        line costs that far, not the whole width."""
        width = self.size.width
        drawn = self._drawn.get(y)
        if drawn is None or drawn.cells is None or not self._columns:
            return Region(0, y, width, 1)
        cells = self._draw(y).cells
        if cells is None or len(cells) != len(drawn.cells):
            return Region(0, y, width, 1)
        start = end = x = 0
        for col, old, new in zip(self._columns, drawn.cells, cells, strict=True):
            if old != new:
                if end == 0:
                    start = x
                end = x + col.width + 1
            x += col.width + 1
        return Region(start, y, end - start, 1)

    # --- drawing -----------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._relayout(event.size.width)
        self.virtual_size = Size(event.size.width,
                                 _virtual_height(len(self.order), event.size.height))

    def _relayout(self, width: int) -> None:
        self._columns = layout(width - 1, self._team_width)
        self._cache.clear()
        self.refresh()

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        """A whole refresh may come with new styles (focus, theme): the base style and
        the scrollbar's are worked out again. Working them out walks every ancestor: once
        a line, it cost 40 % of a repaint; a refreshed part of a line keeps them."""
        if not regions:
            self._base = None
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _thumb(self) -> range:
        """Where the thumb is: over the header and the rows, not the blank lines the
        scrollable height is rounded up with (HEIGHT_STEP)."""
        return thumb(len(self.order) + 1, self.size.height, int(self.scroll_offset.y))

    def render_line(self, y: int) -> Strip:
        if y == 1:
            self._drawn_thumb = self._thumb()
        line = self._drawn[y] = self._draw(y)
        if y and int(self.scroll_offset.y) + y - 1 == self.cursor:
            self.painted_moves = self.moves
        return line.strip

    def _draw(self, y: int) -> Line:
        """Line `y` of the board as it is now (from the cache while its row looks the same)."""
        width = self.size.width
        content = width - 1  # the last column is the scrollbar's
        if not self._columns:
            self._columns = layout(content, self._team_width)
        base = self._base
        if base is None:
            base = self._base = self.rich_style
            self._bars = (Segment(" ", base + self._style("board--scrollbar")),
                          Segment(" ", base + self._style("board--scrollbar-thumb")))
        if y == 0:
            self.repaints += 1
            return Line(None, self._header(width, base))
        on_thumb = y - 1 in self._thumb()
        bar = self._bars[on_thumb]
        index = self.scroll_offset.y + y - 1
        if not self.order:
            text = self.empty_text.center(content)[:content] if y == 2 else " " * content
            style = base + self._style("board--empty") if y == 2 else base
            return Line(None, Strip([Segment(text, style), bar], width))
        row = self.rows.get(self.order[index]) if index < len(self.order) else None
        if row is None:
            return Line(None, Strip([Segment(" " * content, base), bar], width))
        selected = index == self.cursor and self.has_focus
        key = (width, selected, index == self.cursor, on_thumb)
        cached = self._cache.get(row.call)
        if cached is not None and cached[1] == key and (
                cached[0] is row or _look(cached[0]) == _look(row)):
            return cached[2]
        line = self._line(row, content, base, selected, index == self.cursor, bar)
        self._cache[row.call] = (row, key, line)
        return line

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self._style("board--header")
        parts = []
        for col in self._columns:
            title = col.title[: col.width]
            parts.append((title.rjust(col.width) if col.right else title.ljust(col.width)) + " ")
        return Strip([Segment("".join(parts).ljust(width)[:width], style)], width)

    def _line(self, row: CallRow, width: int, base: Style, selected: bool,
              cursor: bool, bar: Segment) -> Line:
        """A row as drawn: its cells, one per column with the space after it, and its
        strip (runs of one style as one segment: fewer to composite and to write)."""
        if selected:
            base = base + self._style("board--cursor")
        elif cursor:
            base = base + Style(underline=True)
        cells = tuple(self._cell(row, col, base) for col in self._columns)
        segments = [segment for cell in cells for segment in cell]
        strip = Strip(segments).simplify().extend_cell_length(width, base).crop(0, width)
        return Line(cells, Strip([*strip, bar], width + 1))

    def _cell(self, row: CallRow, col: Column, base: Style) -> tuple[Segment, ...]:
        w = col.width
        if col.key == "flags":
            flags = row.flags
            room = (w + 1) // 3
            shown = flags if len(flags) <= room else flags[:room - 1]
            out = []
            for flag in shown:
                out.append(Segment(flag.badge, base + self._style(badge_style(flag))))
                out.append(Segment(" ", base))
            rest = " " * (w + 1 - 3 * len(shown))
            if len(shown) < len(flags):  # more than fit: say how many more
                more = f"+{len(flags) - len(shown)}"
                rest = more + rest[len(more):]
            out.append(Segment(rest, base))
            return tuple(out)
        style = base
        if col.key == "agent":
            text = row.name
        elif col.key == "team":
            text = row.team
        elif col.key == "queue":
            text = row.queue or ""
        elif col.key == "time":
            text = minutes(row.call_time())
        elif col.key == "state":
            if row.no_feed:
                text = "NO FEED"
                style = base + self._style("board--nofeed")
            elif row.on_hold:
                text = f"ON HOLD {duration(row.hold_time())}"
                style = base + self._style("board--hold")
            elif row.agent is None:
                text = AWAITING
                style = base + self._style("board--hold")
            else:
                text = "talking"
        elif col.key == "hold":
            total = row.hold_sum()
            text = duration(total) if total else "·"
        elif col.key == "xfer":
            text = str(row.transfers) if row.transfers else "·"
        elif col.key == "talk":
            text = str(row.talk_overs) if row.talk_overs else "·"
        elif col.key == "cust":
            text = sparkline(shown_trend(row, "cust_db"), w)
            if row.cust_spike:
                style = base + self._style("board--spike")
        elif col.key == "agentlvl":
            text = sparkline(shown_trend(row, "agent_db"), w)
            if row.agent_spike:
                style = base + self._style("board--spike")
        elif col.key == "pitch":
            text = sparkline(shown_trend(row, "cust_pitch"), w, 80.0, 400.0)
        elif col.key == "agentpitch":
            text = sparkline(shown_trend(row, "agent_pitch"), w, 60.0, 300.0)
        else:  # why
            text = why(row)
        text = cut(text, w)
        text = text.rjust(w) if col.right else text.ljust(w)
        return (Segment(text, style), Segment(" ", base))

    # --- cursor and keys ---------------------------------------------------------

    def _keep_cursor_visible(self) -> None:
        top = int(self.scroll_offset.y)
        rows_visible = max(1, self.size.height - 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + rows_visible:
            self.scroll_to(y=self.cursor - rows_visible + 1, animate=False)

    def move_to(self, index: int) -> None:
        """Put the cursor on line `index`; repaint the two lines it left and reached, or
        the board when it scrolled (a cursor step is the most common key of all)."""
        self.moves += 1
        if not self.order:
            return
        was, top = self.cursor, int(self.scroll_offset.y)
        self.cursor = max(0, min(index, len(self.order) - 1))
        self._keep_cursor_visible()
        if int(self.scroll_offset.y) != top:
            self.refresh()
            return
        for line in sorted({was - top + 1, self.cursor - top + 1}):
            if 0 < line < self.size.height:
                self.refresh(Region(0, line, self.size.width, 1))

    def action_cursor(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, step: int) -> None:
        self.move_to(self.cursor + step * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        self.move_to(0 if where == 0 else len(self.order) - 1)

    def action_open(self) -> None:
        call = self.cursor_call
        if call is not None:
            self.post_message(self.Opened(call))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        if event.x == self.size.width - 1:  # on the scrollbar: that far down the floor
            rows = max(1, self.size.height - 2)
            self.move_to((len(self.order) - 1) * (event.y - 1) // rows)
            return
        index = int(self.scroll_offset.y) + event.y - 1
        if index >= len(self.order):
            return
        if index == self.cursor and event.chain > 1:
            self.action_open()
        self.move_to(index)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
