"""Headless replay: a recording through the detection engine, flag transitions out.

`floorwatch replay FILE` reads a recording (feeds.core.recording), feeds each valid
producer message to feeds.core.engine.Engine and prints every flag transition.
Pacing is separate from detection: `Pacer` turns the recording's event times
into wall-clock waits (scaled by `--speed`), while the engine only ever sees
event time, so `--fast` and any `--speed` give the same flags. `Pacer` is the
reusable part for anything else that plays a recording out in time (publishing
it to a hub: feeds.client.publisher).
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from feeds.core.config import Config
from feeds.core.engine import GC_THRESHOLDS, Engine
from feeds.core.flags import Flag
from feeds.core.protocol import PRODUCER_TYPES, Message, ProtocolError, iter_messages
from feeds.core.recording import Record, Recording, read_recording


def event_time(msg: Message) -> float | None:
    """The latest event time a message carries (a batch: its items'), or None."""
    if msg.get("type") == "batch":
        times = [item["t"] for item in msg["items"] if "t" in item]
        return max(times) if times else None
    return msg.get("t")


class Pacer:
    """Maps event time to wall-clock time: the first message plays now, the rest
    `speed` times faster than they happened. Event time never runs backwards here:
    a message older than one already played is due at once."""

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise ValueError(f"speed: expected a number > 0, got {speed!r}")
        self.speed = speed
        self.clock = clock
        self._t0: float | None = None
        self._wall0 = 0.0

    def wait(self, t: float | None) -> float:
        """Seconds to wait before playing a message of event time `t` (0 if it is due)."""
        if t is None:
            return 0.0
        if self._t0 is None:
            self._t0, self._wall0 = t, self.clock()
            return 0.0
        due = self._wall0 + (t - self._t0) / self.speed
        return max(0.0, due - self.clock())


def paced(records: Iterable[Record], speed: float | None) -> Iterable[Record]:
    """Each record when it is due; `speed` None: the records themselves, as fast as possible."""
    return records if speed is None else _paced(records, Pacer(speed))


def _paced(records: Iterable[Record], pacer: Pacer) -> Iterator[Record]:
    for record in records:
        if record.message is not None:
            delay = pacer.wait(event_time(record.message))
            if delay > 0:
                time.sleep(delay)
        yield record


@dataclass
class ReplayStats:
    """What a replay went through, for the closing summary line."""

    messages: int = 0
    errors: int = 0
    raised: Counter[str] = field(default_factory=Counter)
    cleared: int = 0

    def summary(self) -> str:
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(self.raised.items()))
        raised = sum(self.raised.values())
        return (
            f"replay: {self.messages} messages, {self.errors} errors, {raised} flags raised"
            + (f" ({rules})" if rules else "")
            + f", {self.cleared} cleared"
        )


class StrictStop(Exception):
    """The first invalid message ends a `--strict` replay; carries the stats so far."""

    def __init__(self, stats: ReplayStats) -> None:
        super().__init__(stats.summary())
        self.stats = stats


class _Feed:
    """What a replay does with each valid message: run it through the engine, count it,
    and report its flags. A Recording offers it each sample first (`take_sample`)."""

    __slots__ = ("engine", "messages", "on_flag", "stats")

    def __init__(self, engine: Engine, on_flag: Callable[[Flag], None], stats: ReplayStats
                 ) -> None:
        self.engine = engine
        self.on_flag = on_flag
        self.stats = stats
        self.messages = 0

    def take(self, msg: Message) -> None:
        """Raises the engine's ProtocolError (unknown or duplicate call); counted all the same."""
        self.messages += 1
        flags = self.engine.process(msg)
        if flags:
            self._report(flags)

    def take_sample(self, msg: dict) -> bool:
        """A sample not yet validated (a SampleTaker): False, and nothing counted, if it is
        not one the engine takes as it is (Engine.take_sample)."""
        self.messages += 1
        flags = self.engine.take_sample(msg)
        if flags is None:
            self.messages -= 1
            return False
        if flags:
            self._report(flags)
        return True

    def _report(self, flags: list[Flag] | tuple[Flag, ...]) -> None:
        stats = self.stats
        for flag in flags:
            if flag.state == "raised":
                stats.raised[flag.rule] += 1
            elif flag.state == "cleared":
                stats.cleared += 1
            self.on_flag(flag)


def replay(
    records: Iterable[Record],
    engine: Engine,
    on_flag: Callable[[Flag], None],
    on_error: Callable[[str], None],
    strict: bool = False,
) -> ReplayStats:
    """Feed every valid message to `engine`; report flags and errors through the callbacks.

    An invalid record or a message the engine rejects (unknown or duplicate call) is
    reported as ``<position>: <detail>`` and skipped; with `strict` it raises StrictStop
    after being reported. Handed a Recording itself (a fast replay: nothing paces it),
    the reader offers each sample straight to the engine, which checks it as it reads
    it; the flags, errors and their order are the same.
    """
    stats = ReplayStats()
    feed = _Feed(engine, on_flag, stats)
    if isinstance(records, Recording):
        records.divert_samples(feed.take_sample)
    errors = 0
    for record in records:
        msg = record[2]  # record.message, without the named attribute's lookup
        if msg is None:
            errors += 1
            stats.messages, stats.errors = feed.messages, errors
            on_error(record.describe())
            if strict:
                raise StrictStop(stats)
            continue
        batch = msg["type"] == "batch"
        for i, item in enumerate(iter_messages(msg)):
            try:
                feed.take(item)
            except ProtocolError as exc:
                errors += 1
                stats.messages, stats.errors = feed.messages, errors
                inner = f"batch.items[{i}]: " if batch else ""
                on_error(f"{record.where}: {inner}{exc.detail}")
                if strict:
                    raise StrictStop(stats) from None
    stats.messages, stats.errors = feed.messages, errors
    return stats


# --- output -------------------------------------------------------------------


def flag_json(flag: Flag) -> str:
    """One flag transition as a JSON object with exactly the `flag` message's fields."""
    return json.dumps(asdict(flag), separators=(", ", ": "))


def flag_line(flag: Flag) -> str:
    """One flag transition as an aligned, readable line: time, call, rule, state, evidence."""
    when = datetime.fromtimestamp(flag.t, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{when}  {flag.call:<12} {flag.rule:<18} {flag.state:<8} {flag.evidence}"


# --- the headless command ---------------------------------------------------------


def replay_file(path: str, config: Config, speed: float | None, as_json: bool, strict: bool,
                out: TextIO, err: TextIO) -> int:
    """`floorwatch replay FILE`: flags on `out`, errors and the summary on `err`.

    `speed` None replays as fast as possible. Returns the exit status: 0, or 2 for an
    unreadable recording or an invalid message under `strict`.
    """
    try:
        records = read_recording(path, PRODUCER_TYPES)
    except ValueError as exc:
        print(f"floorwatch replay: error: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"floorwatch replay: error: {path}: {exc.strerror or exc}", file=err)
        return 2
    show = flag_json if as_json else flag_line
    gc.set_threshold(*GC_THRESHOLDS)

    def on_flag(flag: Flag) -> None:
        print(show(flag), file=out, flush=speed is not None)

    def on_error(text: str) -> None:
        print(text, file=err)

    try:
        stats = replay(paced(records, speed), Engine(config), on_flag, on_error, strict=strict)
    except BrokenPipeError:
        raise  # stdout went away: the command line ends quietly
    except OSError as exc:
        print(f"floorwatch replay: error: {path}: {exc.strerror or exc}", file=err)
        return 2
    except StrictStop as stop:
        print(stop.stats.summary(), file=err)
        print("floorwatch replay: stopped at the first invalid message (--strict)", file=err)
        return 2
    print(stats.summary(), file=err)
    return 0
