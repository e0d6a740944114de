"""Headless replay: the right flags, errors named and skipped, and the same output at any speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feeds.core.engine import Engine
from feeds.core.flags import Flag
from feeds.core.protocol import PRODUCER_TYPES, encode_json
from feeds.core.recording import read_recording, write_recording
from feeds.core.replay import Pacer, StrictStop, event_time, paced, replay
from tests.replaykit import END, EXPECTED_RAISED, T0, scenario
from tui.cli import main

FLAG_FIELDS = ["id", "call", "t", "kind", "rule", "severity", "state", "evidence", "values"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "scenario.msgpack"
    write_recording(path, scenario())
    return path


def _replay(path: Path) -> tuple[list[Flag], list[str]]:
    flags: list[Flag] = []
    errors: list[str] = []
    replay(read_recording(path, PRODUCER_TYPES), Engine(), flags.append, errors.append)
    return flags, errors


def test_replay_raises_exactly_the_scenarios_flags(recording: Path) -> None:
    flags, errors = _replay(recording)
    assert errors == []
    raised = [(f.call, f.rule) for f in flags if f.state == "raised"]
    assert sorted(raised) == sorted(EXPECTED_RAISED)
    cleared = {(f.call, f.rule) for f in flags if f.state == "cleared"}
    assert cleared == EXPECTED_RAISED  # every call ended, so every flag closed
    assert [f.t for f in flags] == sorted(f.t for f in flags)
    hold = next(f for f in flags if f.rule == "hold_long")
    assert hold.t == T0 + 20 + 120 and hold.kind == "intervene"


def test_json_output_has_exactly_the_flag_message_fields(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(recording), "--fast", "--json"]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2 * len(EXPECTED_RAISED)
    assert all(list(line) == FLAG_FIELDS for line in lines)
    assert {(f["call"], f["rule"]) for f in lines if f["state"] == "raised"} == EXPECTED_RAISED
    assert err.splitlines()[-1].startswith(
        f"replay: {len(scenario())} messages, 0 errors, 5 flags raised (agent_raised_voice 1, "
        "customer_distress 1, deescalated 1, hold_long 1, transfers 1), 5 cleared")


def test_readable_output_is_one_aligned_line_per_transition(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(recording), "--fast"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * len(EXPECTED_RAISED)
    hold = next(line for line in lines if "hold_long" in line and "raised" in line)
    assert hold.startswith("2026-09-21 14:15:40  hold-1       hold_long          raised   ")
    assert "on hold for 120 s" in hold
    # time (19) + 2, call (12) + 1, rule (18) + 1: the state column starts at 53
    assert all(line[53:62] in ("raised   ", "cleared  ") for line in lines)


def _with_errors(tmp_path: Path) -> Path:
    """The scenario as JSON Lines with five kinds of bad entries spliced in."""
    lines = [encode_json(m) for m in scenario()]
    lines.insert(10, '{"type": "sample", "call": "calm-1", "t": 1, "dt": 0.5, "cust_db": "loud"}')
    lines.insert(20, "{oops")
    lines.insert(30, encode_json({"type": "sample", "call": "ghost", "t": T0 + 9, "dt": 0.5}))
    lines.insert(40, encode_json({"type": "call_start", "call": "hold-1", "t": T0 + 9,
                                  "agent": "x", "team": "red"}))
    lines.insert(50, encode_json({"type": "batch", "items": [
        {"type": "sample", "call": "ghost", "t": T0 + 9, "dt": 0.5},
        {"type": "event", "call": "xfer-1", "t": T0 + 9, "event": "hold_start"},
        {"type": "event", "call": "xfer-1", "t": T0 + 9.5, "event": "hold_end"}]}))
    path = tmp_path / "errors.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


EXPECTED_ERRORS = [
    "line 11: sample.cust_db: expected number or null, got 'loud'",
    "line 21: message: not valid JSON (Expecting property name enclosed in double quotes: "
    "line 1 column 2 (char 1))",
    "line 31: sample.call: unknown call 'ghost' (no call_start, or already ended)",
    "line 41: call_start.call: call 'hold-1' is already live",
    "line 51: batch.items[0]: sample.call: unknown call 'ghost' (no call_start, or already ended)",
]


def test_bad_entries_are_reported_with_line_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_errors(tmp_path)
    assert main(["replay", str(path), "--fast", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[:-1] == EXPECTED_ERRORS
    assert ", 5 errors, 5 flags raised" in err.splitlines()[-1]
    raised = {(f["call"], f["rule"]) for f in map(json.loads, out.splitlines())
              if f["state"] == "raised"}
    assert raised == EXPECTED_RAISED


def _bad_messages() -> list[dict]:
    """The scenario's messages with the bad entries of `_with_errors` that both forms carry,
    and whole-number times sent as integers, as some producers do (valid, but not the usual
    shape: the fast path declines them and they are validated)."""
    messages = list(scenario())
    for msg in messages:
        if msg["type"] == "sample" and float(msg["t"]).is_integer():
            msg["t"] = int(msg["t"])
    messages.insert(10, {"type": "sample", "call": "calm-1", "t": 1, "dt": 0.5,
                         "cust_db": "loud"})
    messages.insert(30, {"type": "sample", "call": "ghost", "t": T0 + 9, "dt": 0.5})
    messages.insert(40, {"type": "call_start", "call": "hold-1", "t": T0 + 9, "agent": "x",
                         "team": "red"})
    messages.insert(50, {"type": "batch", "items": [
        {"type": "sample", "call": "ghost", "t": T0 + 9, "dt": 0.5},
        {"type": "event", "call": "xfer-1", "t": T0 + 9, "event": "hold_start"},
        {"type": "event", "call": "xfer-1", "t": T0 + 9.5, "event": "hold_end"}]})
    return messages


def _outcome(records, strict: bool) -> tuple[list[Flag], list[str], tuple]:
    flags: list[Flag] = []
    errors: list[str] = []
    try:
        stats = replay(records, Engine(), flags.append, errors.append, strict=strict)
    except StrictStop as stop:
        stats = stop.stats
    return flags, errors, (stats.messages, stats.errors, dict(stats.raised), stats.cleared)


@pytest.mark.parametrize("name", ["bad.jsonl", "bad.msgpack.gz"])
@pytest.mark.parametrize("strict", [False, True])
def test_samples_diverted_to_the_engine_give_what_records_give(
        tmp_path: Path, name: str, strict: bool) -> None:
    """A Recording handed to replay gives its samples straight to the engine (the fast
    path); iterated first, it yields them as records. Same flags, errors, order and counts."""
    path = tmp_path / name
    write_recording(path, _bad_messages())
    fast = _outcome(read_recording(path, PRODUCER_TYPES), strict)
    plain = _outcome(iter(read_recording(path, PRODUCER_TYPES)), strict)
    assert fast == plain
    flags, errors, (messages, n_errors, _, _) = fast
    assert n_errors == len(errors) == (1 if strict else 4)
    assert "sample.cust_db: expected number or null, got 'loud'" in errors[0]
    if not strict:
        assert "unknown call 'ghost'" in errors[1]
        assert "already live" in errors[2]
        assert "batch.items[0]: sample.call: unknown call 'ghost'" in errors[3]
        assert {(f.call, f.rule) for f in flags if f.state == "raised"} == EXPECTED_RAISED
        assert messages == len(list(scenario())) + 5  # + ghost, the duplicate, 3 batch items


def test_strict_stops_at_the_first_bad_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_errors(tmp_path)
    assert main(["replay", str(path), "--fast", "--json", "--strict"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == EXPECTED_ERRORS[0]
    assert err.splitlines()[-1] == (
        "floorwatch replay: stopped at the first invalid message (--strict)")
    assert len(err.splitlines()) == 3  # the error, the summary so far, the stop


def test_config_thresholds_change_the_flags(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "lenient.toml"
    config.write_text("[rules.hold_long]\nseconds = 200\n[rules.transfers]\ncount = 3\n")
    assert main(["replay", str(recording), "--fast", "--json", "--config", str(config)]) == 0
    raised = {(f["call"], f["rule"]) for f in map(json.loads, capsys.readouterr().out.splitlines())
              if f["state"] == "raised"}
    assert raised == EXPECTED_RAISED - {("hold-1", "hold_long"), ("xfer-1", "transfers")}


def test_bad_config_is_exit_2_naming_the_key(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[rules.hold_long]\nminutes = 2\n")
    assert main(["replay", str(recording), "--fast", "--config", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        f"floorwatch replay: error: config {config}: rules.hold_long.minutes: unknown key "
        "(expected one of: seconds, severity)")


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.jsonl", "No such file or directory"),
     ("floor.csv", "unknown recording format")],
)
def test_unreadable_recording_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    assert main(["replay", str(tmp_path / name), "--fast"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("floorwatch replay: error: ") and message in err


def test_fast_and_speed_50_give_identical_output(
    recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pacing only delays messages; detection sees event time, so the flags are the same."""
    assert END - T0 < 200  # at --speed 50 this replay takes about 4 s of wall time
    assert main(["replay", str(recording), "--fast", "--json"]) == 0
    fast = capsys.readouterr().out
    assert main(["replay", str(recording), "--speed", "50", "--json"]) == 0
    paced_out = capsys.readouterr().out
    assert fast == paced_out
    assert len(fast.splitlines()) == 2 * len(EXPECTED_RAISED)


class ManualClock:
    """A clock the test moves by hand, so pacing arithmetic is checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pacer_scales_event_time_and_never_waits_backwards() -> None:
    clock = ManualClock()
    pacer = Pacer(10.0, clock)
    assert pacer.wait(T0) == 0.0  # the first message plays at once
    assert pacer.wait(T0 + 10) == pytest.approx(1.0)
    clock.now += 0.25
    assert pacer.wait(T0 + 10) == pytest.approx(0.75)
    clock.now += 2.0
    assert pacer.wait(T0 + 10) == 0.0  # late: due now, no catching up by waiting less later
    assert pacer.wait(T0 + 30) == pytest.approx(0.75)
    assert pacer.wait(T0 - 50) == 0.0
    assert pacer.wait(None) == 0.0
    with pytest.raises(ValueError, match="speed: expected a number > 0"):
        Pacer(0)


def test_event_time_of_a_batch_is_its_latest_item() -> None:
    batch = {"type": "batch", "items": [{"type": "call_end", "call": "a", "t": 5.0},
                                        {"type": "call_end", "call": "b", "t": 7.0}]}
    assert event_time(batch) == 7.0
    assert event_time({"type": "batch", "items": []}) is None
    assert event_time({"type": "call_end", "call": "a", "t": 3.0}) == 3.0


def test_paced_yields_every_record_in_order(recording: Path) -> None:
    expected = list(read_recording(recording))
    assert list(paced(read_recording(recording), None)) == expected
    head = expected[:6]  # within 5 s of event time: under 50 ms at speed 100
    assert event_time(head[-1].message) - event_time(head[0].message) <= 5.0
    assert list(paced(head, 100.0)) == head
