"""The wire codec: every message type round-trips in both forms, every error names its field."""

from __future__ import annotations

import copy
import json

import msgpack
import pytest

from feeds.core.protocol import (
    MAX_BATCH_ITEMS,
    MAX_MESSAGE_BYTES,
    PRODUCER_TYPES,
    SUBSCRIBER_TYPES,
    ProtocolError,
    decode_frame,
    decode_json,
    decode_msgpack,
    encode_json,
    encode_like,
    encode_msgpack,
    iter_messages,
    validate,
)

T = 1_790_000_000.5

#: One valid example of every message type of protocol.md and docs/protocol.md.
EXAMPLES: dict[str, dict] = {
    "call_start": {"type": "call_start", "call": "c1", "t": T, "agent": "a7", "team": "red",
                   "agent_name": "Ana", "queue": "billing", "customer": "cust-42"},
    "sample": {"type": "sample", "call": "c1", "t": T, "dt": 0.25, "cust_pitch": 212.5,
               "cust_db": -24.5, "agent_pitch": None, "agent_db": None},
    "hold_start": {"type": "event", "call": "c1", "t": T, "event": "hold_start"},
    "hold_end": {"type": "event", "call": "c1", "t": T, "event": "hold_end"},
    "transfer": {"type": "event", "call": "c1", "t": T, "event": "transfer", "to": "retention",
                 "mode": "warm", "agent": "a9", "team": "blue"},
    "talk_over": {"type": "event", "call": "c1", "t": T, "event": "talk_over", "by": "agent",
                  "dur": 1.5},
    "call_end": {"type": "call_end", "call": "c1", "t": T, "reason": "hangup"},
    "batch": {"type": "batch", "items": [
        {"type": "sample", "call": "c1", "t": T, "dt": 0.5, "cust_db": -30.0},
        {"type": "event", "call": "c1", "t": T, "event": "hold_start"},
    ]},
    "hello": {"type": "hello", "server": "floorwatch", "protocol": 1.0, "t": T},
    "snapshot": {"type": "snapshot", "calls": [{"call": "c1", "state": "hold"}],
                 "flags": [{"id": "c1:hold_long:1"}]},
    "flag": {"type": "flag", "id": "c1:hold_long:1", "call": "c1", "t": T, "kind": "intervene",
             "rule": "hold_long", "severity": 2, "state": "raised",
             "evidence": "customer on hold for 120 s"},
    "error": {"type": "error", "code": "invalid", "detail": "sample.dt: missing"},
    "subscribe": {"type": "subscribe", "teams": ["red", "blue"]},
    "subscribe_all": {"type": "subscribe", "teams": None},
    "ack": {"type": "ack", "flag": "c1:hold_long:1", "note": "on it"},
    "snooze": {"type": "snooze", "flag": "c1:hold_long:1", "seconds": 300.0},
    "note": {"type": "note", "call": "c1", "text": "good recovery after the transfer"},
    "action": {"type": "action", "call": "c1", "action": "whisper"},
    # floorwatch extensions (docs/protocol.md)
    "subscribe_detail": {"type": "subscribe", "teams": None, "detail": "summary",
                         "focus": ["c1"], "user": "sup-1", "batch": True},
    "control": {"type": "control", "call": "c1", "action": "barge"},
    "call_update": {"type": "call_update", "call": "c1", "t": T, "state": "talking"},
    "history": {"type": "history", "since": T, "teams": ["red"], "limit": 50},
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_json_round_trip(name: str) -> None:
    msg = EXAMPLES[name]
    assert decode_json(encode_json(msg)) == msg
    assert decode_frame(encode_like(msg, binary=False)) == msg


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_msgpack_round_trip(name: str) -> None:
    msg = EXAMPLES[name]
    frame = encode_msgpack(msg)
    assert isinstance(frame, bytes)
    assert decode_msgpack(frame) == msg
    assert decode_frame(encode_like(msg, binary=True)) == msg


def test_every_documented_type_has_an_example() -> None:
    types = {msg["type"] for msg in EXAMPLES.values()}
    assert types >= PRODUCER_TYPES | SUBSCRIBER_TYPES | {"hello", "snapshot", "flag", "error"}


def test_integers_become_floats_and_unknown_keys_are_kept() -> None:
    msg = validate({"type": "sample", "call": "c", "t": 100, "dt": 1, "cust_db": -20,
                    "vendor_x": [1, 2]})
    assert msg["t"] == 100.0 and type(msg["t"]) is float
    assert type(msg["dt"]) is float and type(msg["cust_db"]) is float
    assert msg["vendor_x"] == [1, 2]


def test_iter_messages_unpacks_a_batch_and_passes_others() -> None:
    batch = copy.deepcopy(EXAMPLES["batch"])
    assert list(iter_messages(batch)) == batch["items"]
    sample = EXAMPLES["sample"]
    assert list(iter_messages(sample)) == [sample]


def _long(n: int) -> str:
    return "x" * n


#: (message, exact error detail, error code): one per kind of validation error.
ERRORS = [
    ([1], "message: expected a map with a string 'type', got [1]", "invalid"),
    ({"call": "c"}, "message: missing string field 'type', got None", "invalid"),
    ({"type": 7}, "message: missing string field 'type', got 7", "invalid"),
    ({"type": "zzz"}, "message: unknown type 'zzz'", "unknown_type"),
    ({"type": "sample", "call": "c", "t": T},
     "sample: missing required field 'dt'", "invalid"),
    ({"type": "sample", "call": "c", "t": T, "dt": 0.5, "cust_db": "loud"},
     "sample.cust_db: expected number or null, got 'loud'", "invalid"),
    ({"type": "sample", "call": "c", "t": T, "dt": 0.5, "agent_pitch": True},
     "sample.agent_pitch: expected number or null, got True", "invalid"),
    ({"type": "sample", "call": "c", "t": "12", "dt": 0.5},
     "sample.t: expected number, got '12'", "invalid"),
    ({"type": "sample", "call": "c", "t": float("nan"), "dt": 0.5},
     "sample.t: expected finite number, got nan", "invalid"),
    ({"type": "sample", "call": "c", "t": T, "dt": 0},
     "sample.dt: expected number > 0, got 0", "invalid"),
    ({"type": "sample", "call": "", "t": T, "dt": 0.5},
     "sample.call: expected non-empty string, got ''", "invalid"),
    ({"type": "call_start", "call": "c", "t": T, "agent": "a", "team": _long(201)},
     "call_start.team: string longer than 200 characters", "invalid"),
    ({"type": "call_start", "call": "c", "t": T, "agent": "a", "team": "t", "queue": 3},
     "call_start.queue: expected non-empty string, got 3", "invalid"),
    ({"type": "note", "call": "c", "text": 5}, "note.text: expected string, got 5", "invalid"),
    ({"type": "note", "call": "c", "text": _long(10_001)},
     "note.text: text longer than 10000 characters", "invalid"),
    ({"type": "action", "call": "c", "action": "shout"},
     "action.action: expected one of listen, whisper, barge; got 'shout'", "invalid"),
    ({"type": "subscribe", "teams": "red"},
     "subscribe.teams: expected list of team ids or null, got 'red'", "invalid"),
    ({"type": "subscribe", "teams": ["red", 3]},
     "subscribe.teams[1]: expected non-empty string, got 3", "invalid"),
    ({"type": "subscribe", "batch": 1},
     "subscribe.batch: expected true or false, got 1", "invalid"),
    ({"type": "subscribe", "focus": "c1"},
     "subscribe.focus: expected list of strings, got 'c1'", "invalid"),
    ({"type": "history", "limit": 0},
     "history.limit: expected whole number 1..100000, got 0", "invalid"),
    ({"type": "snapshot", "calls": {}, "flags": []},
     "snapshot.calls: expected list, got {}", "invalid"),
    (dict(EXAMPLES["flag"], severity=4),
     "flag.severity: expected integer 1..3, got 4", "invalid"),
    ({"type": "event", "call": "c", "t": T, "event": "dance"},
     "event.event: unknown event 'dance'; expected one of hold_start, hold_end, transfer, "
     "talk_over", "unknown_type"),
    ({"type": "event", "call": "c", "t": T, "event": "transfer"},
     "event(transfer): missing required field 'to'", "invalid"),
    ({"type": "event", "call": "c", "t": T, "event": "talk_over", "by": "both", "dur": 1.0},
     "event(talk_over).by: expected one of agent, customer; got 'both'", "invalid"),
    ({"type": "event", "call": "c", "t": T, "event": "talk_over", "by": "agent", "dur": -1},
     "event(talk_over).dur: -1.0 is outside 0..86400 s", "out_of_range"),
    ({"type": "batch", "items": None},
     "batch.items: expected list of messages, got None", "invalid"),
    ({"type": "batch", "items": [EXAMPLES["sample"], {"type": "batch", "items": []}]},
     "batch.items[1]: batch: message type not accepted here", "unexpected_type"),
    ({"type": "batch", "items": [{"type": "sample", "call": "c", "t": T, "dt": 1.0},
                                 {"type": "sample", "call": "c", "t": T, "dt": 1.0},
                                 {"type": "sample", "call": "c", "t": T, "dt": 1.0,
                                  "cust_db": "loud"}]},
     "batch.items[2]: sample.cust_db: expected number or null, got 'loud'", "invalid"),
]


@pytest.mark.parametrize(("msg", "detail", "code"), ERRORS, ids=[e[1][:50] for e in ERRORS])
def test_validation_error_names_field_and_problem(msg: object, detail: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        validate(copy.deepcopy(msg))
    assert caught.value.detail == detail
    assert caught.value.code == code
    assert caught.value.to_message() == {"type": "error", "code": code, "detail": detail}


def test_same_error_from_json_and_msgpack_frames() -> None:
    msg = {"type": "sample", "call": "c", "t": T, "dt": 0.5, "cust_db": "loud"}
    for frame in (encode_json(msg), encode_msgpack(msg)):
        with pytest.raises(ProtocolError, match=r"^sample\.cust_db: expected number or null"):
            decode_frame(frame)


def test_allowed_types_reject_others_by_place() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate(copy.deepcopy(EXAMPLES["ack"]), PRODUCER_TYPES)
    assert (caught.value.code, caught.value.detail) == (
        "unexpected_type", "ack: message type not accepted here")
    with pytest.raises(ProtocolError) as caught:
        validate({"type": "batch", "items": [EXAMPLES["ack"]]}, PRODUCER_TYPES)
    assert caught.value.detail == "batch.items[0]: ack: message type not accepted here"


def test_unknown_type_is_unknown_even_where_types_are_limited() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate({"type": "zzz"}, PRODUCER_TYPES)
    assert caught.value.code == "unknown_type"
    assert caught.value.detail == "message: unknown type 'zzz'"


def test_huge_integers_are_an_error_not_a_crash() -> None:
    text = '{"type": "sample", "call": "c", "t": 1%s, "dt": 0.5}' % ("0" * 400)
    with pytest.raises(ProtocolError, match=r"^sample\.t: expected finite number"):
        decode_json(text)
    text = '{"type": "sample", "call": "c", "t": 1, "dt": 0.5, "cust_db": 1%s}' % ("0" * 400)
    with pytest.raises(ProtocolError, match=r"^sample\.cust_db: expected number or null"):
        decode_json(text)


def test_batch_item_limit_is_too_big() -> None:
    items = [{"type": "call_end", "call": "c", "t": T}] * (MAX_BATCH_ITEMS + 1)
    with pytest.raises(ProtocolError) as caught:
        validate({"type": "batch", "items": items})
    assert caught.value.code == "too_big"
    assert caught.value.detail == f"batch.items: more than {MAX_BATCH_ITEMS} items"


@pytest.mark.parametrize(
    ("frame", "start"),
    [
        ("{not json", "message: not valid JSON"),
        (b"\xc1", "message: not valid MessagePack"),
        (msgpack.packb({"type": "hello"}) + msgpack.packb({"type": "hello"}),
         "message: more than one MessagePack object in one frame"),
    ],
)
def test_undecodable_frames_are_bad_encoding(frame: str | bytes, start: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_frame(frame)
    assert caught.value.code == "bad_encoding"
    assert caught.value.detail.startswith(start)


def test_oversize_frames_are_too_big_in_both_forms() -> None:
    note = {"type": "note", "call": "c", "text": "x" * MAX_MESSAGE_BYTES}
    for frame in (json.dumps(note), msgpack.packb(note)):
        with pytest.raises(ProtocolError) as caught:
            decode_frame(frame)
        assert caught.value.code == "too_big"
        assert caught.value.detail == f"message: larger than {MAX_MESSAGE_BYTES} bytes"


def test_encoders_refuse_non_finite_json() -> None:
    with pytest.raises(ValueError):
        encode_json({"type": "sample", "t": float("inf")})
