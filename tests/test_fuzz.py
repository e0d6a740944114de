"""Property tests: whatever arrives, decoders and readers give a message or a ProtocolError.

A hub takes frames from anyone; a crash in the codec would drop every other
connection's work. These tests throw arbitrary bytes, arbitrary JSON and
near-valid messages at the codec and the recording readers.
"""

from __future__ import annotations

import io
import json

import msgpack
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from feeds.core.protocol import (
    EVENT_SCHEMAS,
    SCHEMAS,
    ProtocolError,
    decode_json,
    decode_msgpack,
    encode_json,
    encode_msgpack,
    validate,
)
from feeds.core.recording import read_jsonl, read_msgpack

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)

field_names = sorted(
    {name for required, optional in SCHEMAS.values() for name in (*required, *optional)}
    | {name for required, optional in EVENT_SCHEMAS.values() for name in (*required, *optional)}
    | {"type", "items", "event"}
)

#: Maps that look like messages: a known type and known field names with arbitrary values.
near_messages = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.sampled_from([*SCHEMAS, "batch"]),
    st.dictionaries(st.sampled_from(field_names), json_values, max_size=8),
)


def _packed(value: object) -> bytes:
    """`value` as MessagePack; integers beyond 64 bits have no MessagePack form."""
    try:
        return msgpack.packb(value)
    except OverflowError:
        assume(False)
        raise


def _decodes_or_refuses(decode, frame) -> None:
    try:
        msg = decode(frame)
    except ProtocolError as exc:
        assert exc.detail and exc.code
    else:
        assert isinstance(msg, dict) and isinstance(msg["type"], str)


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_msgpack_decoder(data: bytes) -> None:
    _decodes_or_refuses(decode_msgpack, data)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_json_decoder(text: str) -> None:
    _decodes_or_refuses(decode_json, text)


@FUZZ
@given(json_values)
def test_arbitrary_json_values_never_crash_either_decoder(value: object) -> None:
    _decodes_or_refuses(decode_json, json.dumps(value))
    _decodes_or_refuses(decode_msgpack, _packed(value))


@FUZZ
@given(near_messages)
def test_near_valid_messages_are_taken_or_refused(msg: dict) -> None:
    _decodes_or_refuses(decode_json, json.dumps(msg))
    _decodes_or_refuses(decode_msgpack, _packed(msg))


def _fields_of(kind: str) -> list[str]:
    required, optional = SCHEMAS[kind]
    names = {*required, *optional}
    if kind == "event":
        names |= {name for req, opt in EVENT_SCHEMAS.values() for name in (*req, *opt)}
    return sorted(names)


#: Messages of one type with only that type's own fields, holding arbitrary values.
typed_messages = st.sampled_from(sorted(SCHEMAS)).flatmap(
    lambda kind: st.dictionaries(st.sampled_from(_fields_of(kind)), json_values, max_size=8)
    .map(lambda fields: {**fields, "type": kind})
)


@FUZZ
@given(typed_messages)
def test_accepted_messages_survive_a_round_trip(msg: dict) -> None:
    try:
        valid = validate(msg)
    except ProtocolError:
        return
    try:  # lists such as snapshot.calls are passed through unchecked
        text, data = encode_json(valid), encode_msgpack(valid)
    except (ValueError, OverflowError):
        assume(False)
        raise
    assert decode_json(text) == valid
    assert decode_msgpack(data) == valid


@FUZZ
@given(st.binary(max_size=400))
def test_msgpack_reader_survives_any_bytes(data: bytes) -> None:
    records = list(read_msgpack(io.BytesIO(data)))
    offsets = [r.position for r in records]
    assert offsets == sorted(offsets)
    assert all(0 <= o < len(data) for o in offsets)
    assert all((r.message is None) != (r.error is None) for r in records)


@FUZZ
@given(st.binary(max_size=400))
def test_jsonl_reader_survives_any_bytes(data: bytes) -> None:
    records = list(read_jsonl(io.BytesIO(data)))
    lines = [r.position for r in records]
    assert lines == sorted(set(lines))
    assert all(1 <= n <= data.count(b"\n") + 1 for n in lines)
    assert all((r.message is None) != (r.error is None) for r in records)


_NOT_MAP_HEADERS = bytes(b for b in range(256) if not (0x80 <= b <= 0x8F or b >= 0xDE))


@FUZZ
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=8),
    st.lists(st.binary(max_size=12).map(lambda b: bytes(_NOT_MAP_HEADERS[x % len(_NOT_MAP_HEADERS)]
                                                         for x in b)), min_size=8, max_size=8),
)
def test_msgpack_reader_recovers_every_message_around_garbage(
    numbers: list[int], garbage: list[bytes]
) -> None:
    """Garbage between records (with no map header byte) costs only itself."""
    messages = [{"type": "call_end", "call": f"c{n}", "t": float(n)} for n in numbers]
    data = b"".join(junk + encode_msgpack(msg)
                    for junk, msg in zip(garbage, messages, strict=False))
    records = list(read_msgpack(io.BytesIO(data)))
    assert [r.message for r in records if r.message is not None] == messages
    assert all(("MessagePack" in r.error.detail or "expected a map" in r.error.detail)
               and r.error.code == "bad_encoding"
               for r in records if r.error is not None)
