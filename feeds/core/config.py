"""Thresholds and settings, with their documented defaults, loaded from TOML.

Every default lives here and only here; docs/rules.md and `floorwatch config`
print them from these dataclasses. A config file needs to name only what it
changes. A wrong key or value is a `ConfigError` that names the key, e.g.
``rules.hold_long.seconds: expected a number > 0, got 'two minutes'``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and key."""


@dataclass(frozen=True, slots=True)
class HoldLong:
    """`hold_long` (intervene): the current hold has lasted this long."""

    seconds: float = 120.0
    severity: int = 2


@dataclass(frozen=True, slots=True)
class HoldTotal:
    """`hold_total` (coach): all holds on the call add up to this much."""

    seconds: float = 180.0
    severity: int = 1


@dataclass(frozen=True, slots=True)
class Transfers:
    """`transfers` (intervene): the call has been transferred this many times."""

    count: int = 2
    severity: int = 2


@dataclass(frozen=True, slots=True)
class CustomerDistress:
    """`customer_distress` (intervene): customer loudness or pitch over their own baseline."""

    db: float = 8.0
    semitones: float = 4.0
    sustain_s: float = 3.0
    severity: int = 3


@dataclass(frozen=True, slots=True)
class AgentRaisedVoice:
    """`agent_raised_voice` (coach): agent loudness over their own baseline."""

    db: float = 8.0
    sustain_s: float = 2.0
    severity: int = 2


@dataclass(frozen=True, slots=True)
class TalkOver:
    """`talk_over` (coach): agent-initiated overlaps of at least `min_dur_s` within `window_s`."""

    count: int = 3
    min_dur_s: float = 1.0
    window_s: float = 120.0
    severity: int = 1


@dataclass(frozen=True, slots=True)
class Deescalated:
    """`deescalated` (kudos): distress cleared within `within_s` with no raised agent voice."""

    within_s: float = 60.0
    severity: int = 1


@dataclass(frozen=True, slots=True)
class Rules:
    hold_long: HoldLong = field(default_factory=HoldLong)
    hold_total: HoldTotal = field(default_factory=HoldTotal)
    transfers: Transfers = field(default_factory=Transfers)
    customer_distress: CustomerDistress = field(default_factory=CustomerDistress)
    agent_raised_voice: AgentRaisedVoice = field(default_factory=AgentRaisedVoice)
    talk_over: TalkOver = field(default_factory=TalkOver)
    deescalated: Deescalated = field(default_factory=Deescalated)


@dataclass(frozen=True, slots=True)
class Baseline:
    """How each party's own normal level is measured.

    window_s: seconds of that party's most recent non-spike speech whose median is the baseline.
    min_speech_s: voiced speech needed before any spike can be judged.
    resolution_s: one sample per this much speech enters the baseline window.
    clear_margin_db / clear_margin_semitones: a spike clears only when the sustained level
    falls this far below its threshold, so a level hovering at the line does not flap.
    """

    window_s: float = 60.0
    min_speech_s: float = 10.0
    resolution_s: float = 1.0
    clear_margin_db: float = 1.5
    clear_margin_semitones: float = 0.75


@dataclass(frozen=True, slots=True)
class Alerts:
    """How the TUI announces a new intervene flag."""

    bell: bool = True
    notify: bool = True  # on the alert line above the status line


@dataclass(frozen=True, slots=True)
class Audio:
    """How `analyze` and `gateway` measure call audio (docs/audio.md says how each is used).

    interval_s: one sample per party per this much audio (a multiple of 0.01 s).
    noise_margin_db: speech is this far over the channel's noise floor...
    min_speech_dbfs: ...and over this level.
    noise_window_s: the noise floor is the quietest moment of this much recent audio.
    bleed_db: a frame is a party's speech only if no more than this under the other's.
    hangover_s: a party keeps the floor through gaps this short (for double talk).
    min_speech_s: less speech than this in an interval gives that party no level.
    min_talk_over_s: shorter double talk is not reported at all.
    f0_min_hz / f0_max_hz: the pitch range tracked.
    yin_threshold: a dip of YIN's normalised difference under this is a period.
    """

    interval_s: float = 0.25
    noise_margin_db: float = 12.0
    min_speech_dbfs: float = -60.0
    noise_window_s: float = 8.0
    bleed_db: float = 15.0
    hangover_s: float = 0.2
    min_speech_s: float = 0.05
    min_talk_over_s: float = 0.25
    f0_min_hz: float = 60.0
    f0_max_hz: float = 400.0
    yin_threshold: float = 0.2


@dataclass(frozen=True, slots=True)
class Config:
    rules: Rules = field(default_factory=Rules)
    baseline: Baseline = field(default_factory=Baseline)
    alerts: Alerts = field(default_factory=Alerts)
    audio: Audio = field(default_factory=Audio)


DEFAULT = Config()


def _coerce(key: str, current: Any, value: Any) -> Any:
    """Check `value` against the type of the default it replaces."""
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if isinstance(current, int) and not isinstance(value, bool) and isinstance(value, int):
        if key.endswith(".severity") and not 1 <= value <= 3:
            raise ConfigError(f"{key}: expected a severity from 1 to 3, got {value}")
        if value < 1:
            raise ConfigError(f"{key}: expected a whole number >= 1, got {value}")
        return value
    if isinstance(current, int):
        raise ConfigError(f"{key}: expected a whole number, got {value!r}")
    if key.endswith("_dbfs"):  # a level: 0 is full scale, everything else below it
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not -120 <= value <= 0:
            raise ConfigError(f"{key}: expected a level from -120 to 0 dBFS, got {value!r}")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{key}: expected a number > 0, got {value!r}")
    return float(value)


def _merge(prefix: str, base: Any, table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{prefix}: expected a table, got {table!r}")
    names = {f.name for f in fields(base)}
    changes = {}
    for key, value in table.items():
        where = f"{prefix}.{key}" if prefix else key
        if key not in names:
            raise ConfigError(f"{where}: unknown key (expected one of: {', '.join(sorted(names))})")
        current = getattr(base, key)
        if is_dataclass(current):
            changes[key] = _merge(where, current, value)
        else:
            changes[key] = _coerce(where, current, value)
    return replace(base, **changes)


def from_mapping(table: dict[str, Any]) -> Config:
    """A Config from a parsed TOML table; defaults fill in what it leaves out."""
    return _merge("", DEFAULT, table)


def load(path: str | Path | None) -> Config:
    """Read a TOML config file; `None` gives the defaults."""
    if path is None:
        return DEFAULT
    path = Path(path)
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return from_mapping(table)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def to_toml(config: Config = DEFAULT) -> str:
    """The config as a TOML document, with each section's docstring as a comment."""
    lines: list[str] = []

    def emit(prefix: str, node: Any) -> None:
        scalars = [f for f in fields(node) if not is_dataclass(getattr(node, f.name))]
        if scalars:
            lines.append(f"[{prefix}]")
            doc = (type(node).__doc__ or "").strip().splitlines()
            lines.extend(f"# {line.strip()}".rstrip() for line in doc)
            for f in scalars:
                value = getattr(node, f.name)
                text = str(value).lower() if isinstance(value, bool) else repr(value)
                lines.append(f"{f.name} = {text}")
            lines.append("")
        for f in fields(node):
            child = getattr(node, f.name)
            if is_dataclass(child):
                emit(f"{prefix}.{f.name}" if prefix else f.name, child)

    emit("", config)
    return "\n".join(lines)
