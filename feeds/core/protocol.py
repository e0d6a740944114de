"""The floorwatch wire protocol, version 1 (see ../shared/protocol.md and docs/protocol.md).

One place knows every message's shape: `validate` checks a decoded map and
returns it (numbers normalised to float), or raises `ProtocolError` naming
the field and the problem, e.g. ``sample.cust_db: expected number or null,
got 'loud'``. `decode_json` / `decode_msgpack` turn one frame into one
validated message; `encode_json` / `encode_msgpack` do the reverse.

`sample` is by far the most frequent message, so it has a fast path that
accepts the common shapes with a handful of type checks and falls back to the
general checker only to build the error message.
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable, Mapping
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
SERVER_NAME = "floorwatch"

#: Largest frame the hub accepts, and the largest record a recording reader takes.
MAX_MESSAGE_BYTES = 1 << 20
#: Items in one `batch`; more is rejected, so a single frame cannot stall the hub.
MAX_BATCH_ITEMS = 10_000

Message = dict[str, Any]


class ProtocolError(ValueError):
    """A message that does not follow the protocol; `code` is the `error.code` sent back."""

    def __init__(self, detail: str, code: str = "invalid") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def to_message(self) -> Message:
        return {"type": "error", "code": self.code, "detail": self.detail}


#: How an error shows a bad value: a few levels and items deep, so a value nested a
#: thousand deep is named in a line, not a RecursionError.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring = 2, 4, 4, 40


def _show(value: Any) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- field checkers: each returns the normalised value or raises -------------

Checker = Callable[[str, Any], Any]


def _str(where: str, value: Any) -> str:
    if type(value) is not str or not value:
        raise ProtocolError(f"{where}: expected non-empty string, got {_show(value)}")
    if len(value) > 200:
        raise ProtocolError(f"{where}: string longer than 200 characters")
    return value


def _text(where: str, value: Any) -> str:
    if type(value) is not str:
        raise ProtocolError(f"{where}: expected string, got {_show(value)}")
    if len(value) > 10_000:
        raise ProtocolError(f"{where}: text longer than 10000 characters")
    return value


#: Integers from JSON may be arbitrarily large; beyond this they do not fit a float.
_INT_LIMIT = 2**1023


def _number(where: str, value: Any) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise ProtocolError(f"{where}: expected finite number, got {_show(value)}")
    if type(value) is int:
        if abs(value) < _INT_LIMIT:
            return float(value)
        raise ProtocolError(f"{where}: expected finite number, got {_show(value)}")
    raise ProtocolError(f"{where}: expected number, got {_show(value)}")


def _positive(where: str, value: Any) -> float:
    number = _number(where, value)
    if number <= 0:
        raise ProtocolError(f"{where}: expected number > 0, got {_show(value)}")
    return number


def _optional_number(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if type(value) is int and abs(value) < _INT_LIMIT:
        return float(value)
    if type(value) is not float or not math.isfinite(value):
        raise ProtocolError(f"{where}: expected number or null, got {_show(value)}")
    return value


def _optional_str(where: str, value: Any) -> str | None:
    return None if value is None else _str(where, value)


def _one_of(*choices: str) -> Checker:
    def check(where: str, value: Any) -> str:
        if value not in choices:
            expected = ", ".join(choices)
            raise ProtocolError(f"{where}: expected one of {expected}; got {_show(value)}")
        return value

    return check


def _teams(where: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if type(value) is not list:
        raise ProtocolError(f"{where}: expected list of team ids or null, got {_show(value)}")
    return [_str(f"{where}[{i}]", team) for i, team in enumerate(value)]


def _list(where: str, value: Any) -> list:
    if type(value) is not list:
        raise ProtocolError(f"{where}: expected list, got {_show(value)}")
    return value


def _bool(where: str, value: Any) -> bool:
    if type(value) is not bool:
        raise ProtocolError(f"{where}: expected true or false, got {_show(value)}")
    return value


def _str_list(where: str, value: Any) -> list[str]:
    if type(value) is not list:
        raise ProtocolError(f"{where}: expected list of strings, got {_show(value)}")
    return [_str(f"{where}[{i}]", item) for i, item in enumerate(value)]


def _limit(where: str, value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_LIMIT:
        raise ProtocolError(f"{where}: expected whole number 1..{MAX_LIMIT}, got {_show(value)}")
    return value


# --- what a producer's numbers may be -------------------------------------------------
# Finite is not enough: 1e39 dB overflows the trace's float32 and 1.7e308 s of `dt` sums
# to infinity. Each quantity has the range a real call can have, with room to spare, and
# anything outside it is an error that names it (docs/protocol.md, Validation rules).

#: Event time, seconds since 1970: up to the year 5138.
T_MAX = 1e11
#: Longest interval a sample, an overlap or a snooze may span: a day.
SPAN_MAX = 86_400.0
#: Loudness in dBFS: 0 is full scale; below -200 is no sound at all.
DB_MIN, DB_MAX = -200.0, 40.0
#: Voice pitch in Hz: human voices are 50-1,100 Hz (null, not 0, when there is none).
HZ_MIN, HZ_MAX = 1.0, 5_000.0
#: Most calls one history request may ask for.
MAX_LIMIT = 100_000


def _ranged(where: str, number: float, low: float, high: float, unit: str) -> float:
    if not low <= number <= high:
        raise ProtocolError(f"{where}: {_show(number)} is outside {low:g}..{high:g} {unit}",
                            code="out_of_range")
    return number


def _time(where: str, value: Any) -> float:
    return _ranged(where, _number(where, value), 0.0, T_MAX, "s (event time)")


def _span(where: str, value: Any) -> float:
    return _ranged(where, _positive(where, value), 0.0, SPAN_MAX, "s")


def _duration(where: str, value: Any) -> float:
    return _ranged(where, _number(where, value), 0.0, SPAN_MAX, "s")


def _level(where: str, value: Any) -> float | None:
    number = _optional_number(where, value)
    return None if number is None else _ranged(where, number, DB_MIN, DB_MAX, "dBFS")


def _pitch(where: str, value: Any) -> float | None:
    number = _optional_number(where, value)
    return None if number is None else _ranged(where, number, HZ_MIN, HZ_MAX, "Hz")


def _count(where: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ProtocolError(f"{where}: expected whole number >= 0, got {_show(value)}")
    return value


def _severity(where: str, value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 3:
        raise ProtocolError(f"{where}: expected integer 1..3, got {_show(value)}")
    return value


# --- message schemas: type -> (required fields, optional fields) ------------

Schema = tuple[dict[str, Checker], dict[str, Checker]]

SCHEMAS: dict[str, Schema] = {
    # producer -> hub
    "call_start": (
        {"call": _str, "t": _time, "agent": _str, "team": _str},
        {"agent_name": _optional_str, "queue": _optional_str, "customer": _optional_str},
    ),
    "sample": (
        {"call": _str, "t": _time, "dt": _span},
        {
            "cust_pitch": _pitch,
            "cust_db": _level,
            "agent_pitch": _pitch,
            "agent_db": _level,
        },
    ),
    "event": ({"call": _str, "t": _time, "event": _str}, {}),
    "call_end": ({"call": _str, "t": _time}, {"reason": _optional_str}),
    # subscriber -> hub
    "subscribe": (
        {},
        {
            "teams": _teams,
            "detail": _one_of("samples", "summary"),
            "focus": _str_list,
            "user": _optional_str,
            "batch": _bool,
        },
    ),
    "ack": ({"flag": _str}, {"note": _text}),
    "snooze": ({"flag": _str, "seconds": _span}, {}),
    "note": ({"call": _str, "text": _text}, {}),
    "action": ({"call": _str, "action": _one_of("listen", "whisper", "barge")}, {}),
    # hub -> subscriber (validated when a client library reads them)
    "hello": ({"server": _str, "protocol": _number, "t": _number}, {}),
    "snapshot": ({"calls": _list, "flags": _list}, {}),
    "flag": (
        {
            "id": _str,
            "call": _str,
            "t": _number,
            "kind": _one_of("intervene", "coach", "kudos"),
            "rule": _str,
            "severity": _severity,
            "state": _one_of("raised", "cleared", "acked", "snoozed"),
            "evidence": _text,
        },
        {},
    ),
    "error": ({"code": _str, "detail": _text}, {}),
    # floorwatch extensions (docs/protocol.md)
    "control": ({"call": _str, "action": _one_of("listen", "whisper", "barge")}, {}),
    "call_update": ({"call": _str, "t": _number}, {}),
    "trace": (
        {"call": _str, "t0": _number, "step": _positive, "cust_db": _list, "cust_pitch": _list,
         "agent_db": _list, "agent_pitch": _list},
        {"cust_spike": _list, "agent_spike": _list},
    ),
    "history": ({}, {"since": _optional_number, "teams": _teams, "limit": _limit}),
    "hub_status": ({"producers": _count}, {}),
}

#: Fields an `event` needs on top of call/t/event, by event kind.
EVENT_SCHEMAS: dict[str, Schema] = {
    "hold_start": ({}, {}),
    "hold_end": ({}, {}),
    "transfer": (
        {"to": _str},
        {"mode": _one_of("blind", "warm"), "agent": _optional_str, "team": _optional_str,
         "agent_name": _optional_str},
    ),
    "talk_over": ({"by": _one_of("agent", "customer"), "dur": _duration}, {}),
}

PRODUCER_TYPES = frozenset({"call_start", "sample", "event", "call_end", "batch"})
SUBSCRIBER_TYPES = frozenset({"subscribe", "ack", "snooze", "note", "action", "history"})


def _check_fields(where: str, msg: dict, schema: Schema) -> None:
    required, optional = schema
    for name, check in required.items():
        if name not in msg:
            raise ProtocolError(f"{where}: missing required field '{name}'")
        msg[name] = check(f"{where}.{name}", msg[name])
    for name, check in optional.items():
        if name in msg:
            msg[name] = check(f"{where}.{name}", msg[name])


# The same bounds as C doubles for `plain_sample` (feeds/protocol.pxd declares them).
_T_HI, _SPAN_HI, _DB_LO, _DB_HI, _HZ_LO, _HZ_HI = T_MAX, SPAN_MAX, DB_MIN, DB_MAX, HZ_MIN, HZ_MAX


def _within(value: float, low: float, high: float) -> bool:
    """Compiled, two C comparisons on the float's double (feeds/protocol.pxd); nan and
    the infinities fail them."""
    return low <= value <= high


def sample_fields(msg: dict) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """A sample's call, t, dt, cust_db, cust_pitch, agent_db and agent_pitch, each read
    once (a silent party's fields may be left out: None). The check below and the
    engine both start from these, so a reader that checks a sample and applies it reads
    its map once (Engine.take_sample)."""
    try:
        return (msg["call"], msg["t"], msg["dt"], msg["cust_db"], msg["cust_pitch"],
                msg["agent_db"], msg["agent_pitch"])
    except KeyError:
        get = msg.get
        return (get("call"), get("t"), get("dt"), get("cust_db"), get("cust_pitch"),
                get("agent_db"), get("agent_pitch"))


def plain_sample(call: Any, t: Any, dt: Any, cust_db: Any, cust_pitch: Any, agent_db: Any,
                 agent_pitch: Any) -> bool:
    """True when a sample's fields (`sample_fields`) make a well-formed sample in its
    usual shape: floats and nulls. Anything else takes `validate`'s general path, which
    accepts integers too and names what is wrong.

    Written for speed (it runs once per sample): type identity checks, and each number's
    range (`_time`, `_span`, `_level`, `_pitch`) as comparisons that nan and the
    infinities fail, with nothing allocated.
    """
    if (type(call) is not str or type(t) is not float or type(dt) is not float
            or not 0 < len(call) <= 200 or not _within(t, 0.0, _T_HI)
            or not dt > 0.0 or not _within(dt, 0.0, _SPAN_HI)):
        return False
    if cust_db is not None and (type(cust_db) is not float
                                or not _within(cust_db, _DB_LO, _DB_HI)):
        return False
    if cust_pitch is not None and (type(cust_pitch) is not float
                                   or not _within(cust_pitch, _HZ_LO, _HZ_HI)):
        return False
    if agent_db is not None and (type(agent_db) is not float
                                 or not _within(agent_db, _DB_LO, _DB_HI)):
        return False
    return agent_pitch is None or (type(agent_pitch) is float
                                   and _within(agent_pitch, _HZ_LO, _HZ_HI))


def _fast_sample(msg: dict) -> bool:
    """`validate`'s shortcut: a sample in the usual shape needs no further checks."""
    call, t, dt, cust_db, cust_pitch, agent_db, agent_pitch = sample_fields(msg)
    return plain_sample(call, t, dt, cust_db, cust_pitch, agent_db, agent_pitch)


def validate(msg: Any, allowed: frozenset[str] | None = None) -> Message:
    """Check one decoded message in place and return it; raise ProtocolError if it is wrong.

    `allowed` limits the accepted types (e.g. PRODUCER_TYPES on /publish).
    A `batch` is checked item by item; the first bad item names its index.
    """
    if not isinstance(msg, dict):
        raise ProtocolError(f"message: expected a map with a string 'type', got {_show(msg)}")
    kind = msg.get("type")
    if kind == "sample" and (allowed is None or "sample" in allowed) and _fast_sample(msg):
        return msg
    if type(kind) is not str:
        raise ProtocolError(f"message: missing string field 'type', got {_show(kind)}")
    if allowed is not None and kind not in allowed:
        if kind not in SCHEMAS and kind != "batch":
            raise ProtocolError(f"message: unknown type {_show(kind)}", code="unknown_type")
        raise ProtocolError(f"{kind}: message type not accepted here", code="unexpected_type")
    if kind == "batch":
        items = msg.get("items")
        if type(items) is not list:
            raise ProtocolError(f"batch.items: expected list of messages, got {_show(items)}")
        if len(items) > MAX_BATCH_ITEMS:
            raise ProtocolError(f"batch.items: more than {MAX_BATCH_ITEMS} items", code="too_big")
        inner = None if allowed is None else allowed - {"batch"}
        for i, item in enumerate(items):
            try:
                validate(item, inner if inner is not None else _NO_NESTED_BATCH)
            except ProtocolError as exc:
                raise ProtocolError(f"batch.items[{i}]: {exc.detail}", exc.code) from None
        return msg
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtocolError(f"message: unknown type {_show(kind)}", code="unknown_type")
    _check_fields(kind, msg, schema)
    if kind == "event":
        event_schema = EVENT_SCHEMAS.get(msg["event"])
        if event_schema is None:
            raise ProtocolError(
                f"event.event: unknown event {_show(msg['event'])}; expected one of "
                + ", ".join(EVENT_SCHEMAS),
                code="unknown_type",
            )
        _check_fields(f"event({msg['event']})", msg, event_schema)
        if msg["event"] == "talk_over" and msg["dur"] < 0:
            raise ProtocolError(f"event(talk_over).dur: expected number >= 0, got {msg['dur']}")
    return msg


_NO_NESTED_BATCH = frozenset(SCHEMAS) - {"batch"}


def iter_messages(msg: Message) -> list[Message] | tuple[Message]:
    """The messages a validated message stands for: a batch's items, else itself."""
    return msg["items"] if msg["type"] == "batch" else (msg,)


def _fields(schema: Schema, *common: str) -> frozenset[str]:
    required, optional = schema
    return frozenset({*common, *required, *optional})


_KNOWN_FIELDS = {kind: _fields(schema, "type") for kind, schema in SCHEMAS.items()}
_KNOWN_EVENT_FIELDS = {
    event: _fields(schema, "type", "call", "t", "event") for event, schema in EVENT_SCHEMAS.items()
}


def known_fields(msg: Message) -> Message:
    """A validated message without the keys the protocol does not define.

    Receivers ignore unknown keys, so the hub drops them before forwarding: a
    producer's extra key (bytes, a huge number) can then never break the encoding
    of what every subscriber receives. Returns `msg` itself when nothing is extra.
    """
    kind = msg["type"]
    known = _KNOWN_EVENT_FIELDS[msg["event"]] if kind == "event" else _KNOWN_FIELDS[kind]
    if msg.keys() <= known:
        return msg
    return {key: value for key, value in msg.items() if key in known}


# --- codecs -----------------------------------------------------------------


def decode_json(text: str | bytes, allowed: frozenset[str] | None = None) -> Message:
    """Decode and validate one JSON text frame."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message: larger than {MAX_MESSAGE_BYTES} bytes", code="too_big")
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"message: not valid JSON ({exc})", code="bad_encoding") from None
    return validate(msg, allowed)


def decode_msgpack(data: bytes, allowed: frozenset[str] | None = None) -> Message:
    """Decode and validate one MessagePack binary frame."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message: larger than {MAX_MESSAGE_BYTES} bytes", code="too_big")
    try:
        msg = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except msgpack.ExtraData:
        raise ProtocolError(
            "message: more than one MessagePack object in one frame (use a batch)",
            code="bad_encoding",
        ) from None
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError) as exc:
        raise ProtocolError(
            f"message: not valid MessagePack ({type(exc).__name__}: {exc})", code="bad_encoding"
        ) from None
    return validate(msg, allowed)


def decode_frame(frame: str | bytes, allowed: frozenset[str] | None = None) -> Message:
    """A WebSocket frame: text frames are JSON, binary frames MessagePack."""
    if isinstance(frame, str):
        return decode_json(frame, allowed)
    return decode_msgpack(frame, allowed)


def encode_json(msg: Mapping[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":"), allow_nan=False)


def encode_msgpack(msg: Mapping[str, Any]) -> bytes:
    return msgpack.packb(msg, use_bin_type=True)


def encode_like(msg: Mapping[str, Any], binary: bool) -> str | bytes:
    """Encode in the form the peer used: MessagePack for binary peers, JSON for text ones."""
    return encode_msgpack(msg) if binary else encode_json(msg)


#: What a batch may hold.
_ITEM_TYPES = PRODUCER_TYPES - {"batch"}


def batch_items(frame: str | bytes, problems: list[ProtocolError]) -> list[Message | None]:
    """A batch frame whose items did not all validate: each item checked on its own.

    Bad items become None and an error naming their index; the rest are kept.
    """
    raw = json.loads(frame) if isinstance(frame, str) else msgpack.unpackb(frame, raw=False)
    items: list[Message | None] = []
    for i, item in enumerate(raw["items"]):
        try:
            items.append(validate(item, _ITEM_TYPES))
        except ProtocolError as exc:
            problems.append(ProtocolError(f"batch.items[{i}]: {exc.detail}", exc.code))
            items.append(None)
    return items
