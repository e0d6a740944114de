"""Text helpers shared by the screens: durations, sparklines, badges, flag lines.

Kept free of widgets so every screen formats a number the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text

from feeds.floor.view import CallRow, FlagView

BARS = "▁▂▃▄▅▆▇█"
#: Loudness range a sparkline spans, in dBFS: quiet speech to shouting.
DB_LOW, DB_HIGH = -50.0, -5.0


def duration(seconds: float) -> str:
    """`m:ss` under an hour, `h:mm:ss` above: what a supervisor reads at a glance."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def as_text(value: object) -> object:
    """A table cell: a string as plain text (never markup: names and evidence come from
    the wire, and `[/` in a call id must not crash the table); anything else as it is."""
    return Text(value) if isinstance(value, str) else value


def cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending in … when it had to be cut."""
    if len(text) <= width:
        return text
    return text[:width - 1] + "…" if width > 0 else ""


def clock_text(t: float) -> str:
    """Event time as UTC wall-clock time, the way the hub and the store write it."""
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def iso_time(t: float) -> str:
    """An event time as ISO 8601 in UTC, to the second: what a spreadsheet reads."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def minutes(seconds: float) -> str:
    """Whole minutes (`<1m`, `4m`, `1h05m`): an age that needs no second-by-second tick."""
    whole = max(0, int(seconds)) // 60
    if not whole:
        return "<1m"
    return f"{whole // 60}h{whole % 60:02d}m" if whole >= 60 else f"{whole}m"


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


def flag_line(flag: FlagView, age: float | None, wall: float) -> Text:
    """One flag for lists: badge, rule, state (who, how long open), evidence.

    `age` is how long the flag's episode has lasted in its call's event time (None:
    not known); a snooze's end is wall time, so it is counted down on `wall`."""
    text = Text()
    text.append(f"{flag.badge} ", style="bold")
    text.append(f"{flag.rule} ")
    state = flag.state + (f" by {flag.by}" if flag.by else "")
    if flag.state == "snoozed" and flag.until is not None:
        state += f" for {duration(flag.until - wall)}"
    if flag.is_open and age is not None:
        state += f", open {duration(age)}"
    text.append(f"[{state}] ", style="italic")
    text.append(flag.evidence)
    if flag.note:
        text.append(f" — {flag.note}", style="italic")
    return text


def _num(value: float) -> str:
    """A number as the evidence sentence shows it: no trailing `.0`."""
    return f"{value:g}"


def flag_numbers(flag: FlagView) -> str:
    """A flag's numbers in a few words, from its `values` (its sentence if it has none)."""
    rule, values = flag.rule, flag.values
    if rule in ("customer_distress", "agent_raised_voice"):
        who = "cust" if rule == "customer_distress" else "agent"
        parts = [f"{values['db']:+.1f} dB"] if "db" in values else []
        parts += [f"{values['st']:+.1f} st"] if "st" in values else []
        if parts:
            return f"{who} {', '.join(parts)}"
    elif rule == "hold_long" and "hold_s" in values:
        return f"hold {duration(values['hold_s'])}"
    elif rule == "hold_total" and "total_s" in values:
        return f"holds Σ {duration(values['total_s'])}"
    elif rule == "transfers" and "count" in values:
        return f"{values['count']:.0f} transfers"
    elif rule == "talk_over" and "count" in values and "window_s" in values:
        return f"{values['count']:.0f} talk-overs in {values['window_s']:.0f} s"
    elif rule == "deescalated" and "calmed_s" in values:
        return f"calmed in {_num(values['calmed_s'])} s"
    return flag.evidence


def why(row: CallRow) -> str:
    """The most urgent open flag's numbers in a few words, for the board's WHY column:
    from the flag's `values`, and how long its episode has lasted (a running hold, a
    distress) in the call's event time."""
    flags = [f for f in row.flags if f.state != "snoozed"] or list(row.flags)
    if not flags:
        return ""
    flag = flags[0]
    rule = flag.rule
    if rule == "hold_long" and row.on_hold:
        return f"hold {duration(row.hold_time())}"
    if rule == "hold_total":
        return f"holds Σ {duration(row.hold_sum())}"
    if rule == "transfers":
        return f"{row.transfers} transfers"
    text = flag_numbers(flag)
    if rule in ("customer_distress", "agent_raised_voice") and text is not flag.evidence:
        return f"{text} for {minutes(row.flag_age(flag))}"
    return text
