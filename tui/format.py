"""Text helpers shared by the screens: durations, sparklines, badges, flag lines.

Kept free of widgets so every screen formats a number the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from feeds.floorview import FlagView

BARS = "▁▂▃▄▅▆▇█"
#: Loudness range a sparkline spans, in dBFS: quiet speech to shouting.
DB_LOW, DB_HIGH = -50.0, -5.0


def duration(seconds: float) -> str:
    """`m:ss` under an hour, `h:mm:ss` above: what a supervisor reads at a glance."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def sparkline(values: Sequence[float | None], width: int, low: float = DB_LOW,
              high: float = DB_HIGH) -> str:
    """The last `width` values as block characters; silence is a blank."""
    values = list(values)[-width:]
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append(" ")
            continue
        level = (min(max(value, low), high) - low) / span
        out.append(BARS[min(len(BARS) - 1, int(level * len(BARS)))])
    return "".join(out).rjust(width)


def badge_style(flag: FlagView) -> str:
    """Component class for a flag badge: kind sets the color, state dims it."""
    if flag.state != "raised":
        return "badge--quiet"
    return f"badge--{flag.kind}"


def flag_line(flag: FlagView, now: float) -> Text:
    """One flag for lists: badge, rule, state (and who), evidence."""
    text = Text()
    text.append(f"{flag.badge} ", style="bold")
    text.append(f"{flag.rule} ")
    state = flag.state + (f" by {flag.by}" if flag.by else "")
    if flag.state == "snoozed" and flag.until is not None:
        state += f" for {duration(flag.until - now)}"
    text.append(f"[{state}] ", style="italic")
    text.append(flag.evidence)
    if flag.note:
        text.append(f" — {flag.note}", style="italic")
    return text
