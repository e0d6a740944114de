"""Modal screens: help (every binding, generated so it cannot drift), the note editor and
the confirmation an irreversible request needs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from feeds.core.flags import RULE_KINDS
from feeds.floor.shift import EndedCall
from feeds.floor.view import KIND_PREFIX, RULE_LETTERS
from tui.format import clock_text, duration

LEGEND = (
    "Screens: 1 board · 2 alerts · 3 coaching queue · 4 agents (Enter on a call: detail)\n"
    "Badges: the prefix is the kind, the letter the rule (color is never the only cue).\n"
    "  ! intervene  ? coach  + kudos   dim = acked, snoozed\n"
    + "  ".join(f"{KIND_PREFIX[RULE_KINDS[r]]}{RULE_LETTERS[r]} {r}" for r in RULE_KINDS)
    + "\nColumns: CALL the call's age · STATE talking, ON HOLD m:ss or NO FEED · "
    "ΣHOLD all its holds · XF transfers · TO talk-overs counted · CUST/AGT dB loudness "
    "and Hz pitch, last 30 s · WHY the most urgent flag's numbers · st semitones"
)


#: Keys as people write them, not as Textual names them.
KEY_NAMES = {
    "question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter", "pagedown": "PgDn",
    "pageup": "PgUp", "home": "Home", "end": "End", "up": "↑", "down": "↓", "left": "←",
    "right": "→", "space": "Space", "tab": "Tab", "ctrl+p": "Ctrl+P",
}


def key_names(keys: str) -> str:
    """`question_mark,q` -> `? q`."""
    return " ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def bindings_text(groups: list[tuple[str, list[Binding]]]) -> Text:
    """Each group's title, then one line a key: the keys in bold, in a column. Plain
    Text rather than a Rich Table: a Table is measured and laid out again on every
    render, which made opening help cost several board redraws."""
    rows: list[tuple[str, str] | str] = []
    for title, bindings in groups:
        rows.append(title)
        seen: set[str] = set()
        for b in bindings:
            if b.key_display:  # a footer pointer (1-4 Screens): the keys are listed apart
                continue
            keys = key_names(b.key)
            if keys not in seen:  # one line a key, however many bindings name it
                seen.add(keys)
                rows.append((keys, b.description or b.action))
    width = max((len(row[0]) for row in rows if isinstance(row, tuple)), default=0)
    text = Text()
    for row in rows:
        if text:
            text.append("\n")
        if isinstance(row, str):
            text.append(row, style="underline")
        else:
            text.append(row[0].ljust(width), style="bold")
            text.append("  " + row[1])
    return text


class HelpScreen(ModalScreen[None]):
    """Every key binding of every screen, and the badge legend."""

    BINDINGS: ClassVar = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, groups: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(LEGEND, id="legend")
            yield Static(bindings_text(self.groups))

    def action_dismiss(self) -> None:
        self.dismiss(None)


class NoteScreen(ModalScreen[str | None]):
    """Type a coaching note for a call; Enter saves, Esc cancels."""

    BINDINGS: ClassVar = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, call: str) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        with Vertical(id="note"):
            yield Label(Text(f"Coaching note for call {self.call} (Enter saves, Esc cancels)"))
            yield Input(placeholder="what went well, what to work on", id="note-text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(text or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Ask before a request that cannot be taken back (barging into a call): y or Enter
    goes ahead, n or Esc does not."""

    BINDINGS: ClassVar = [Binding("y,enter", "answer(True)", "Yes"),
                          Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(Text(self.question))
            yield Label("y / Enter: yes    n / Esc: no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class EndedCallScreen(ModalScreen[None]):
    """Why an ended call is in the coaching queue: each flag's evidence, then the notes."""

    BINDINGS: ClassVar = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, call: EndedCall) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        call = self.call
        text = Text()
        text.append(f"{call.name}", style="bold")
        text.append(f"  {call.team}  call {call.call}  "
                    f"{clock_text(call.started)}–{clock_text(call.ended)} UTC  "
                    f"{duration(call.ended - call.started)}\n\n")
        for kind, rule, evidence, _ in call.flags:
            text.append(f"{KIND_PREFIX.get(kind, '*')}{RULE_LETTERS.get(rule, '?')} {rule}",
                        style="bold")
            text.append(f"  {evidence or '(no evidence recorded)'}\n")
        if not call.flags:
            text.append("no flags\n")
        text.append("\nNotes\n", style="underline")
        for t, by, note in call.notes:
            text.append(f"{clock_text(t)} {by}: ", style="italic")
            text.append(f"{note}\n")
        if not call.notes:
            text.append("none yet (n on the call's detail adds one)\n")
        with VerticalScroll(id="ended-call"):
            yield Static(text)
            yield Label("Esc closes")

    def action_dismiss(self) -> None:
        self.dismiss(None)
