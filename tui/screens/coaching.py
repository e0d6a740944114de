"""Coaching queue: ended calls worth a conversation, per agent, exportable."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from feeds.floor.reader import FloorReader
from feeds.floor.shift import EndedCall
from feeds.floor.view import KIND_PREFIX, RULE_LETTERS, Frame
from tui.format import as_text, clock_text, duration, iso_time
from tui.screens.base import HistoryScreen
from tui.screens.modals import EndedCallScreen
from tui.widgets import AlertLine, CountsBar, StatusLine

CSV_FIELDS = ("agent", "agent_name", "team", "queue", "call", "started", "ended", "duration",
              "hold_total", "transfers", "talk_overs", "flags", "notes")


def exported(call: EndedCall) -> dict[str, Any]:
    """A call as the export writes it: times in ISO 8601 (UTC), flags with their evidence."""
    out = call.to_dict()
    out["started"], out["ended"] = iso_time(call.started), iso_time(call.ended)
    for note in out["notes"]:
        note["t"] = iso_time(note["t"])
    return out


def export(calls: list[EndedCall], directory: Path, stem: str) -> tuple[Path, Path]:
    """Write the queue as CSV (one row per call) and JSON (full detail); return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    rows = [exported(call) for call in calls]
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            flat = dict(row)
            flat["flags"] = " | ".join(f"{f['kind']} {f['rule']}: {f['evidence']}".rstrip(": ")
                                       for f in row["flags"])
            flat["notes"] = " | ".join(f"{n['t']} {n['by']}: {n['text']}" for n in row["notes"])
            writer.writerow({name: flat[name] for name in CSV_FIELDS})
    json_path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return csv_path.resolve(), json_path.resolve()


class CoachingScreen(HistoryScreen):
    """Ended calls with coach or kudos flags or notes, grouped by agent."""

    BINDINGS: ClassVar = [
        Binding("enter", "open", "Evidence and notes"),
        Binding("e", "export", "Export CSV+JSON"),
    ]

    def __init__(self, floor: FloorReader, export_dir: Path) -> None:
        super().__init__(floor)
        self.export_dir = export_dir
        self.calls: list[EndedCall] = []
        self._now = 0.0  # the floor's event time at the last frame, for the export's name

    def compose(self) -> ComposeResult:
        yield CountsBar()
        yield Static("", id="coaching-empty")
        table: DataTable = DataTable(id="coaching", cursor_type="row", zebra_stripes=True)
        table.add_columns("agent", "call", "ended", "length", "flags", "notes")
        yield table
        yield AlertLine()
        yield StatusLine()
        yield Footer(compact=True)

    def show_frame(self, frame: Frame, wall: float, full: bool) -> None:
        super().show_frame(frame, wall, full)
        self._now = frame.now
        self.query_one(CountsBar).view = "coaching queue (ended calls, per agent)"
        if not (full or frame.history_changed):
            return
        ended = self.floor.ended_calls()
        self.calls = [c for c in ended if c.coaching]
        empty = self.query_one("#coaching-empty", Static)
        empty.display = not self.calls
        if not self.calls:
            so_far = (f"{len(ended)} call{'s' if len(ended) != 1 else ''} ended so far, "
                      "none with one" if ended else "no call has ended yet")
            empty.update(
                "No ended calls with coach or kudos flags or coaching notes yet "
                f"({so_far}).\nCalls appear here, grouped by agent, when they end; "
                "e exports the list as CSV and JSON.")
        table = self.query_one(DataTable)
        table.clear()
        previous = None
        for call in self.calls:
            badges = " ".join(KIND_PREFIX.get(k, "*") + RULE_LETTERS.get(r, "?")
                              for k, r, _, _ in call.flags)
            notes = " | ".join(text for _, _, text in call.notes)
            agent = call.name if call.agent != previous else ""
            previous = call.agent
            table.add_row(*map(as_text, (agent, call.call, clock_text(call.ended),
                                         duration(call.ended - call.started), badges, notes)),
                          key=call.call)

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if self.calls and 0 <= table.cursor_row < len(self.calls):
            self.app.push_screen(EndedCallScreen(self.calls[table.cursor_row]))

    @on(DataTable.RowSelected, "#coaching")
    def _selected(self) -> None:
        self.action_open()

    def action_export(self) -> None:
        stamp = iso_time(self._now)[:19].replace("-", "").replace(":", "")
        stem = f"floorwatch-coaching-{stamp}"  # e.g. 20261202T155922, the floor's time
        try:
            csv_path, json_path = export(self.calls, self.export_dir, stem)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"exported {len(self.calls)} calls to {csv_path} and {json_path}",
                    timeout=10, markup=False)
