"""`floorwatch analyze` as a user runs it: a WAV in, a recording or a hub out."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from tests.hubkit import FLOORWATCH, start_hub_process, stop_hub_process, watching
from tests.speech import Line, Speech, Turn

START = 1_790_000_000.0


@pytest.fixture(scope="module")
def shouting(speech: Speech) -> tuple[Path, float]:
    """A call whose agent shouts from the returned second on."""
    turns = speech.conversation(0.5, 25.0)
    shout = at = turns[-1].at + speech.seconds(turns[-1]) + 0.6
    for text in ["I already told you that three times, you need to listen to me.",
                 "That is not how this works and I cannot change it for you."]:
        turns.append(Turn("agent", at, text, voice="en-gb", pitch=40, gain_db=10.0))
        at += speech.seconds(turns[-1]) + 0.4
    turns += speech.conversation(at + 0.3, at + 15.0)
    return speech.call("cli-shout", turns, Line(ulaw=True, bleed_db=-30.0)), shout


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOORWATCH, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def _flags(recording: Path) -> list[dict]:
    done = _run("replay", str(recording), "--fast", "--headless", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_analyze_then_replay_gives_the_calls_flags(shouting, tmp_path: Path) -> None:
    path, shout = shouting
    out = tmp_path / "call.jsonl"
    done = _run("analyze", str(path), "--call", "c-7", "--agent", "a7", "--team", "billing",
                "--start", str(START), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "of μ-law at 8000 Hz" in done.stderr
    first = json.loads(out.read_text().splitlines()[0])
    assert first == {"type": "call_start", "call": "c-7", "t": START, "agent": "a7",
                     "team": "billing"}
    flags = _flags(out)
    raised = [f for f in flags if f["state"] == "raised"]
    assert [f["rule"] for f in raised] == ["agent_raised_voice"]
    assert START + shout < raised[0]["t"] <= START + shout + 5.0
    assert raised[0]["call"] == "c-7"


def test_channels_say_who_is_on_which(shouting, tmp_path: Path) -> None:
    """The same file read as agent,customer: the shouting is the customer's now."""
    path, _ = shouting
    out = tmp_path / "swapped.msgpack"
    done = _run("analyze", str(path), "--channels", "agent,customer", "--start", str(START),
                "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert [f["rule"] for f in _flags(out) if f["state"] == "raised"] == [
        "customer_distress", "deescalated"]


def test_bad_input_is_named_and_writes_nothing(speech: Speech, tmp_path: Path) -> None:
    mono = tmp_path / "mono.wav"
    subprocess.run(["sox", str(speech.call("cli-mono", [Turn("customer", 0.1, "Hello.")])),
                    str(mono), "remix", "1"], check=True)
    for args, problem in [
        ([str(mono)], "mono.wav: mono audio: a call needs two tracks"),
        ([str(tmp_path / "none.wav")], "cannot read"),
        ([str(mono), "--channels", "customer,customer"], "expected 'customer,agent'"),
    ]:
        out = tmp_path / "out.jsonl"
        done = _run("analyze", *args, "-o", str(out))
        assert done.returncode == 2 and problem in done.stderr, done.stderr
        assert not out.exists()


async def test_analyze_to_a_hub(shouting, tmp_path: Path) -> None:
    path, shout = shouting
    hub, url = await start_hub_process(tmp_path / "hub.db")
    try:
        async with watching(url) as stream:
            analyze = await asyncio.create_subprocess_exec(
                FLOORWATCH, "analyze", str(path), "--call", "live-1", "--agent", "a7",
                "--team", "billing", "--start", str(START), "--to", url,
                stderr=asyncio.subprocess.PIPE)
            assert await asyncio.wait_for(analyze.wait(), 60) == 0
            seen: list[dict] = []
            async with asyncio.timeout(30):
                while not any(m["type"] == "flag" for m in seen):
                    seen.append(await anext(stream))
        start = next(m for m in seen if m["type"] == "call_start")
        assert start["call"] == "live-1" and start["agent"] == "a7"
        flag = next(m for m in seen if m["type"] == "flag")
        assert flag["rule"] == "agent_raised_voice" and flag["call"] == "live-1"
        assert START + shout < flag["t"] <= START + shout + 5.0
    finally:
        assert await stop_hub_process(hub) == 0


def test_the_audio_section_of_a_config(shouting, tmp_path: Path) -> None:
    path, _ = shouting
    config = tmp_path / "fw.toml"
    config.write_text("[audio]\ninterval_s = 0.5\n")
    out = tmp_path / "half.jsonl"
    done = _run("analyze", str(path), "--config", str(config), "-o", str(out))
    assert done.returncode == 0, done.stderr
    samples = [json.loads(line) for line in out.read_text().splitlines()
               if '"sample"' in line]
    assert {s["dt"] for s in samples} == {0.5}
    config.write_text("[audio]\ninterval_s = 0.333\n")
    done = _run("analyze", str(path), "--config", str(config), "-o", str(out))
    assert done.returncode == 2 and "audio.interval_s: expected a multiple of 0.01" in done.stderr
    config.write_text("[audio]\nmin_speech_dbfs = 3\n")
    done = _run("analyze", str(path), "--config", str(config), "-o", str(out))
    assert done.returncode == 2
    assert "audio.min_speech_dbfs: expected a level from -120 to 0 dBFS" in done.stderr
