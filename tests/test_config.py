"""Thresholds from TOML: defaults fill gaps, every mistake names its key, to_toml round-trips."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from feeds.core.config import DEFAULT, ConfigError, from_mapping, load, to_toml


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "floorwatch.toml"
    path.write_text(text)
    return path


def test_no_file_gives_the_protocol_defaults() -> None:
    config = load(None)
    assert config == DEFAULT
    rules = config.rules
    assert (rules.hold_long.seconds, rules.hold_total.seconds) == (120.0, 180.0)
    assert rules.transfers.count == 2
    assert (rules.customer_distress.db, rules.customer_distress.semitones) == (8.0, 4.0)
    assert rules.customer_distress.sustain_s == 3.0
    assert (rules.agent_raised_voice.db, rules.agent_raised_voice.sustain_s) == (8.0, 2.0)
    assert (rules.talk_over.count, rules.talk_over.min_dur_s, rules.talk_over.window_s) == (
        3, 1.0, 120.0)
    assert rules.deescalated.within_s == 60.0
    assert config.baseline.window_s == 60.0 and config.baseline.min_speech_s == 10.0


def test_a_file_changes_only_what_it_names(tmp_path: Path) -> None:
    config = load(_write(tmp_path, """
[rules.hold_long]
seconds = 90
[rules.talk_over]
count = 4
[alerts]
bell = false
"""))
    assert config.rules.hold_long.seconds == 90.0 and type(config.rules.hold_long.seconds) is float
    assert config.rules.hold_long.severity == DEFAULT.rules.hold_long.severity
    assert config.rules.talk_over.count == 4
    assert config.alerts.bell is False and config.alerts.notify is True
    assert config.rules.customer_distress == DEFAULT.rules.customer_distress
    assert config.baseline == DEFAULT.baseline


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rules.hold_long]\nminutes = 2\n",
         "rules.hold_long.minutes: unknown key (expected one of: seconds, severity)"),
        ("[rulez]\nx = 1\n",
         "rulez: unknown key (expected one of: alerts, audio, baseline, rules)"),
        ("[rules.hold_long]\nseconds = 'two minutes'\n",
         "rules.hold_long.seconds: expected a number > 0, got 'two minutes'"),
        ("[rules.hold_long]\nseconds = -5\n",
         "rules.hold_long.seconds: expected a number > 0, got -5"),
        ("[rules.hold_long]\nseconds = nan\n",
         "rules.hold_long.seconds: expected a number > 0, got nan"),
        ("[rules.hold_long]\nseconds = true\n",
         "rules.hold_long.seconds: expected a number > 0, got True"),
        ("[rules.transfers]\ncount = 2.5\n",
         "rules.transfers.count: expected a whole number, got 2.5"),
        ("[rules.transfers]\ncount = 0\n",
         "rules.transfers.count: expected a whole number >= 1, got 0"),
        ("[rules.transfers]\nseverity = 5\n",
         "rules.transfers.severity: expected a severity from 1 to 3, got 5"),
        ("[alerts]\nbell = 'yes'\n", "alerts.bell: expected true or false, got 'yes'"),
        ("rules = 3\n", "rules: expected a table, got 3"),
    ],
)
def test_a_bad_file_names_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value) == f"{path}: {message}"


def test_not_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    path = _write(tmp_path, "[rules.hold_long\nseconds = 1\n")
    with pytest.raises(ConfigError, match=r"floorwatch\.toml: not valid TOML \("):
        load(path)
    with pytest.raises(ConfigError, match=r"nope\.toml: no such config file$"):
        load(tmp_path / "nope.toml")


def test_to_toml_round_trips_defaults_and_changes() -> None:
    text = to_toml()
    assert tomllib.loads(text)["rules"]["hold_long"] == {"seconds": 120.0, "severity": 2}
    assert from_mapping(tomllib.loads(text)) == DEFAULT
    changed = from_mapping({"rules": {"customer_distress": {"db": 6.5}},
                            "alerts": {"notify": False}})
    assert changed != DEFAULT
    assert from_mapping(tomllib.loads(to_toml(changed))) == changed


def test_to_toml_documents_every_rule_section() -> None:
    text = to_toml()
    for rule in ("hold_long", "hold_total", "transfers", "customer_distress",
                 "agent_raised_voice", "talk_over", "deescalated"):
        header = f"[rules.{rule}]\n# `{rule}` ("
        assert header in text
