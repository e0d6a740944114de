"""The `floorwatch` command line: its one parser, and the installed console script for real."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from feeds.core.config import DEFAULT, from_mapping
from feeds.core.protocol import PRODUCER_TYPES
from feeds.core.recording import read_recording, write_recording
from tests.replaykit import EXPECTED_RAISED, scenario
from tui.cli import build_parser, main

FLOORWATCH = Path(sys.executable).with_name("floorwatch")
FLAG_FIELDS = ["id", "call", "t", "kind", "rule", "severity", "state", "evidence", "values"]


def _floorwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLOORWATCH), *args], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "scenario.jsonl.gz"
    write_recording(path, scenario())
    return path


def test_parser_lists_every_command_with_a_function() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert list(commands) == ["replay", "generate", "config", "hub", "user", "audit", "simulate",
                              "demo", "watch", "ssh", "web", "analyze",
                              "gateway"]
    for name, sub in commands.items():
        assert callable(sub.get_default("func")), name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.startswith("floorwatch 0.")


def test_replay_options_parse() -> None:
    args = build_parser().parse_args(
        ["replay", "f.msgpack", "--speed", "2.5", "--json", "--strict", "--headless",
         "--config", "c.toml"])
    assert (args.file, args.speed, args.json, args.strict, args.headless, args.config) == (
        "f.msgpack", 2.5, True, True, True, "c.toml")
    assert args.fast is False


@pytest.mark.parametrize("speed", ["0", "-1", "fast", "inf"])
def test_bad_speed_is_a_usage_error(speed: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["replay", "f.jsonl", "--speed", speed])
    assert caught.value.code == 2
    assert f"--speed: expected a number > 0, got '{speed}'" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "replay" in capsys.readouterr().err


def test_config_prints_the_defaults_as_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    assert from_mapping(tomllib.loads(capsys.readouterr().out)) == DEFAULT


def test_config_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[rules.hold_long]\nseconds = 90\n")
    assert main(["config", "--check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert tomllib.loads(out)["rules"]["hold_long"]["seconds"] == 90.0
    assert err.strip() == f"floorwatch config: {good} is valid"
    bad = tmp_path / "bad.toml"
    bad.write_text("[baseline]\nwindow_s = 0\n")
    assert main(["config", "--check", str(bad)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"floorwatch config: error: config {bad}: baseline.window_s: "
        "expected a number > 0, got 0")


# --- the installed console script, as a user runs it ----------------------------------------


def test_console_script_replays_headless_json(recording: Path) -> None:
    done = _floorwatch("replay", str(recording), "--fast", "--headless", "--json")
    assert done.returncode == 0, done.stderr
    flags = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(list(flag) == FLAG_FIELDS for flag in flags)
    assert {(f["call"], f["rule"]) for f in flags if f["state"] == "raised"} == EXPECTED_RAISED
    assert done.stderr.startswith(f"replay: {len(scenario())} messages, 0 errors, 5 flags raised")


def test_console_script_strict_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "call_end", "call": "c1", "t": 5}\n')
    done = _floorwatch("replay", str(path), "--fast", "--strict")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "line 1: call_end.call: unknown call 'c1' (no call_start, or already ended)")
    lenient = _floorwatch("replay", str(path), "--fast")
    assert lenient.returncode == 0
    assert "1 messages, 1 errors" in lenient.stderr


def test_console_script_bad_config_names_the_key(recording: Path, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[rules.customer_distress]\ndb = 'loud'\n")
    done = _floorwatch("replay", str(recording), "--fast", "--config", str(config))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "rules.customer_distress.db: expected a number > 0, got 'loud'" in done.stderr


def test_headless_commands_never_import_textual() -> None:
    """Building the whole parser and running a headless command stays UI-free, and free of
    the gateway's web server (every remote board starts through this parser too)."""
    code = (
        "import sys\n"
        "from tui.cli import main\n"
        "status = main(['config'])\n"
        "assert status == 0, status\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'aiohttp'))\n"
        "print(loaded, file=sys.stderr)\n"
        "sys.exit(3 if loaded else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_generate_writes_a_deterministic_readable_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = tmp_path / "one.msgpack.gz", tmp_path / "two.msgpack.gz"
    expected = tmp_path / "expected.jsonl"
    args = ["generate", "--seed", "3", "--agents", "6", "--minutes", "2"]
    assert main([*args, "-o", str(one), "--expected", str(expected)]) == 0
    assert main([*args, "-o", str(two)]) == 0
    assert one.read_bytes() == two.read_bytes()
    records = list(read_recording(one, PRODUCER_TYPES))
    assert records and all(r.error is None for r in records)
    assert {r.message["type"] for r in records} >= {"call_start", "sample", "event"}
    err = capsys.readouterr().err
    assert err.startswith(f"floorwatch generate: {len(records)} messages, ")
    truth = [json.loads(line) for line in expected.read_text().splitlines()]
    assert all({"call", "rule", "t_from", "t_to"} <= set(t) for t in truth)


def test_generated_floor_replays_the_same_fast_and_at_speed_50(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Determinism on realistic data: 2 minutes of event time, about 2.4 s at speed 50."""
    path = tmp_path / "floor.msgpack"
    assert main(["generate", "--seed", "11", "--agents", "8", "--minutes", "2", "-o",
                 str(path)]) == 0
    capsys.readouterr()
    assert main(["replay", str(path), "--fast", "--json"]) == 0
    fast = capsys.readouterr().out
    assert main(["replay", str(path), "--speed", "50", "--json"]) == 0
    assert capsys.readouterr().out == fast
    assert any(json.loads(line)["state"] == "raised" for line in fast.splitlines())


def test_generate_refuses_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "-o", "x.jsonl", "--agents", "0"])
    assert "--agents: expected a whole number >= 1, got '0'" in capsys.readouterr().err


def test_generate_to_an_unknown_form_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "floor.csv"
    assert main(["generate", "--agents", "2", "--minutes", "1", "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        f"floorwatch generate: error: {out}: unknown recording format")
    assert not out.exists()
