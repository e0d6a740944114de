"""Shared test helpers: a builder of one call's messages at realistic noise, and engine runs.

Import them with `from tests.conftest import CallScript, run, raised`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pytest

from feeds.core.engine import Engine
from feeds.core.flags import Flag
from feeds.core.protocol import validate


@pytest.fixture(autouse=True, scope="session")
def _own_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's hubs and clients (and the commands it runs) keep their files, the
    local admin token among them, in a directory of the run's own, not the user's."""
    saved = {name: os.environ.get(name) for name in ("XDG_DATA_HOME", "FLOORWATCH_TOKEN")}
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data"))
    os.environ.pop("FLOORWATCH_TOKEN", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class CallScript:
    """Messages of one call, written a stretch at a time, with seeded per-sample jitter.

    Levels are given relative to each party's normal voice (`cust` / `agent`:
    dBFS and Hz); every voiced sample gets Gaussian jitter of `jitter_db` dB
    and `jitter_st` semitones, so tests run at the noise of real calls.
    """

    def __init__(
        self,
        call: str = "c1",
        t0: float = 1_000.0,
        seed: int = 0,
        dt: float = 0.25,
        cust: tuple[float, float] = (-26.0, 180.0),
        agent: tuple[float, float] = (-24.0, 120.0),
        jitter_db: float = 2.0,
        jitter_st: float = 1.0,
    ) -> None:
        self.call = call
        self.t = t0
        self.dt = dt
        self.rng = np.random.default_rng(seed)
        self.voices = {"customer": cust, "agent": agent}
        self.jitter_db = jitter_db
        self.jitter_st = jitter_st
        self.messages: list[dict[str, Any]] = [
            {"type": "call_start", "call": call, "t": t0, "agent": "a001", "team": "billing",
             "agent_name": "Ada Abbott"}
        ]

    def _level(self, party: str, db: float, st: float) -> tuple[float, float]:
        base_db, base_hz = self.voices[party]
        level = base_db + db + float(self.rng.normal(0.0, self.jitter_db))
        pitch = base_hz * 2.0 ** ((st + float(self.rng.normal(0.0, self.jitter_st))) / 12.0)
        return round(min(level, -0.5), 1), round(pitch, 1)

    def sample(self, **levels: float | None) -> CallScript:
        """One sample with exactly these fields (the others null)."""
        self.t = round(self.t + self.dt, 3)
        msg = {"type": "sample", "call": self.call, "t": self.t, "dt": self.dt,
               "cust_pitch": None, "cust_db": None, "agent_pitch": None, "agent_db": None}
        msg.update(levels)
        self.messages.append(msg)
        return self

    def speak(self, party: str, seconds: float, db: float = 0.0, st: float = 0.0) -> CallScript:
        """`party` talks alone for `seconds`, `db` louder and `st` semitones higher than usual."""
        prefix = "cust" if party == "customer" else "agent"
        for _ in range(round(seconds / self.dt)):
            level, pitch = self._level(party, db, st)
            self.sample(**{f"{prefix}_db": level, f"{prefix}_pitch": pitch})
        return self

    def turns(
        self,
        seconds: float,
        turn: float = 2.5,
        cust_db: float = 0.0,
        cust_st: float = 0.0,
        agent_db: float = 0.0,
        first: str = "customer",
    ) -> CallScript:
        """Alternating turns of `turn` s (customer first) for `seconds` in all."""
        party, left = first, seconds
        while left > 1e-9:
            length = min(turn, left)
            if party == "customer":
                self.speak(party, length, cust_db, cust_st)
            else:
                self.speak(party, length, agent_db)
            left -= length
            party = "agent" if party == "customer" else "customer"
        return self

    def silence(self, seconds: float) -> CallScript:
        for _ in range(round(seconds / self.dt)):
            self.sample()
        return self

    def event(self, event: str, **fields: Any) -> CallScript:
        self.messages.append(
            {"type": "event", "call": self.call, "t": self.t, "event": event, **fields})
        return self

    def hold(self, seconds: float) -> CallScript:
        self.event("hold_start").silence(seconds)
        return self.event("hold_end")

    def end(self) -> CallScript:
        self.messages.append({"type": "call_end", "call": self.call, "t": self.t})
        return self


def run(messages: Iterable[dict[str, Any]], engine: Engine | None = None) -> list[Flag]:
    """Every flag transition the engine gives on `messages` (validated first, as the hub does)."""
    engine = engine if engine is not None else Engine()
    flags: list[Flag] = []
    for msg in messages:
        flags.extend(engine.process(validate(dict(msg))))
    return flags


def raised(flags: Iterable[Flag], rule: str | None = None) -> list[Flag]:
    return [f for f in flags if f.state == "raised" and (rule is None or f.rule == rule)]
