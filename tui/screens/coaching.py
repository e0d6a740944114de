"""Coaching queue: ended calls worth a conversation, per agent, exportable."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from feeds.floor.reader import FloorReader
from feeds.floor.shift import EndedCall
from feeds.floor.view import KIND_PREFIX, RULE_LETTERS, Frame
from tui.format import duration
from tui.screens.base import HistoryScreen, clock_text
from tui.widgets import AlertLine, CountsBar, StatusLine

CSV_FIELDS = ("agent", "agent_name", "team", "queue", "call", "started", "ended", "duration",
              "hold_total", "transfers", "talk_overs", "flags", "notes")


def export(calls: list[EndedCall], directory: Path, stem: str) -> tuple[Path, Path]:
    """Write the queue as CSV (one row per call) and JSON (full detail); return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_FIELDS)
        writer.writeheader()
        for call in calls:
            row = call.to_dict()
            row["flags"] = "; ".join(f"{k}:{r}" for k, r, _ in call.flags)
            row["notes"] = " | ".join(text for _, _, text in call.notes)
            writer.writerow({name: row[name] for name in CSV_FIELDS})
    json_path.write_text(json.dumps([c.to_dict() for c in calls], indent=2) + "\n",
                         encoding="utf-8")
    return csv_path, json_path


class CoachingScreen(HistoryScreen):
    """Ended calls with coach or kudos flags or notes, grouped by agent."""

    BINDINGS: ClassVar = [
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
                              for k, r, _ in call.flags)
            notes = " | ".join(text for _, _, text in call.notes)
            agent = call.name if call.agent != previous else ""
            previous = call.agent
            table.add_row(agent, call.call, clock_text(call.ended),
                          duration(call.ended - call.started), badges, notes, key=call.call)

    def action_export(self) -> None:
        stem = f"floorwatch-coaching-{clock_text(self._now).replace(':', '')}"
        try:
            csv_path, json_path = export(self.calls, self.export_dir, stem)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify(f"exported {len(self.calls)} calls to {csv_path} and {json_path.name}")
