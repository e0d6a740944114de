"""Recording files: all four forms round-trip, bad entries are named by position and skipped."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import msgpack
import pytest

from feeds.core.protocol import MAX_MESSAGE_BYTES, PRODUCER_TYPES, encode_json, encode_msgpack
from feeds.core.recording import (
    MAX_BUFFER,
    RESYNC_LIMIT,
    RecordingWriter,
    read_recording,
    recording_format,
    write_recording,
)

T = 1_790_000_000.0
FORMS = ["jsonl", "msgpack", "jsonl.gz", "msgpack.gz"]


def _messages(n: int = 6) -> list[dict]:
    out: list[dict] = [{"type": "call_start", "call": "c1", "t": T, "agent": "a1", "team": "red"}]
    for i in range(1, n - 1):
        out.append({"type": "sample", "call": "c1", "t": T + i * 0.5, "dt": 0.5,
                    "cust_db": -25.0 - i % 20, "cust_pitch": 200.0 + i % 50})
    out.append({"type": "call_end", "call": "c1", "t": T + n})
    return out


@pytest.mark.parametrize("form", FORMS)
def test_every_form_round_trips_with_positions(tmp_path: Path, form: str) -> None:
    messages = _messages()
    path = tmp_path / f"rec.{form}"
    assert write_recording(path, messages) == len(messages)
    records = list(read_recording(path))
    assert [r.message for r in records] == messages
    assert all(r.error is None for r in records)
    if form.startswith("jsonl"):
        assert [r.where for r in records] == [f"line {n}" for n in range(1, len(messages) + 1)]
    else:
        sizes = [len(encode_msgpack(m)) for m in messages]
        assert [r.position for r in records] == [sum(sizes[:i]) for i in range(len(sizes))]
        assert records[1].where == f"offset {sizes[0]}"


def test_gzip_output_is_deterministic_and_really_gzip(tmp_path: Path) -> None:
    one, two = tmp_path / "a.msgpack.gz", tmp_path / "b.msgpack.gz"
    write_recording(one, _messages())
    write_recording(two, _messages())
    assert one.read_bytes() == two.read_bytes()
    assert gzip.decompress(one.read_bytes()) == b"".join(encode_msgpack(m) for m in _messages())


def test_writer_counts_what_it_wrote(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "w.jsonl") as writer:
        for msg in _messages(4):
            writer.write(msg)
    assert writer.count == 4
    lines = (tmp_path / "w.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == _messages(4)


def test_jsonl_bad_lines_are_named_and_skipped(tmp_path: Path) -> None:
    good = _messages(4)
    lines = [
        encode_json(good[0]),
        '{"type": "sample", "call": "c1", "t": 1, "dt": 0.5, "cust_db": "loud"}',
        "",
        encode_json(good[1]),
        "{not json",
        '{"type": "ack", "flag": "c1:hold_long:1"}',
        '{"type": "telemetry"}',
        "   ",
        encode_json(good[2]),
        encode_json(good[3]),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    records = list(read_recording(path, PRODUCER_TYPES))
    assert [r.message for r in records if r.message] == good
    errors = [(r.describe(), r.error.code) for r in records if r.error]
    assert errors == [
        ("line 2: sample.cust_db: expected number or null, got 'loud'", "invalid"),
        ("line 5: message: not valid JSON (Expecting property name enclosed in double quotes: "
         "line 1 column 2 (char 1))", "bad_encoding"),
        ("line 6: ack: message type not accepted here", "unexpected_type"),
        ("line 7: message: unknown type 'telemetry'", "unknown_type"),
    ]
    assert [r.position for r in records if r.message] == [1, 4, 9, 10]


def test_jsonl_line_over_the_size_limit_is_skipped_whole(tmp_path: Path) -> None:
    good = _messages(3)
    huge = json.dumps({"type": "note", "call": "c1", "text": "x" * (MAX_MESSAGE_BYTES + 10)})
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join([encode_json(good[0]), huge, encode_json(good[1]),
                               encode_json(good[2])]))
    records = list(read_recording(path))
    assert [r.message for r in records if r.message] == good
    [error] = [r for r in records if r.error]
    assert (error.where, error.error.code) == ("line 2", "too_big")


def test_jsonl_invalid_utf8_is_bad_encoding(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(b'{"type": "call_end", "call": "\xff\xfe", "t": 1}\n'
                     + encode_json(_messages()[0]).encode() + b"\n")
    first, second = list(read_recording(path))
    assert first.error is not None and first.error.code == "bad_encoding"
    assert second.message == _messages()[0]


def test_msgpack_garbage_in_the_middle_is_reported_and_skipped(tmp_path: Path) -> None:
    good = _messages(8)
    frames = [encode_msgpack(m) for m in good]
    garbage = b"\xc1\xc1 this is not msgpack \x00\xff"
    data = b"".join(frames[:3]) + garbage + b"".join(frames[3:])
    path = tmp_path / "garbage.msgpack"
    path.write_bytes(data)
    records = list(read_recording(path))
    assert [r.message for r in records if r.message] == good
    [error] = [r for r in records if r.error]
    at = sum(map(len, frames[:3]))
    assert error.position == at
    assert error.error.code == "bad_encoding"
    assert error.error.detail.startswith("message: not valid MessagePack (")
    assert error.error.detail.endswith(
        f"skipped {len(garbage)} bytes to the next message at offset {at + len(garbage)}")


def test_msgpack_invalid_message_keeps_the_framing(tmp_path: Path) -> None:
    good = _messages(3)
    bad = {"type": "sample", "call": "c1", "t": T, "dt": 0.5, "cust_db": "loud"}
    frames = [encode_msgpack(good[0]), msgpack.packb(bad), encode_msgpack(good[1]),
              msgpack.packb([1, 2]), encode_msgpack(good[2])]
    path = tmp_path / "bad.msgpack"
    path.write_bytes(b"".join(frames))
    records = list(read_recording(path))
    assert [r.message for r in records if r.message] == good
    errors = [r.describe() for r in records if r.error]
    offset = len(frames[0])
    not_map = sum(map(len, frames[:3]))
    assert errors == [
        f"offset {offset}: sample.cust_db: expected number or null, got 'loud'",
        f"offset {not_map}: message: expected a map with a string 'type', got [1, 2]; "
        f"skipped {len(frames[3])} bytes to the next message at offset "
        f"{not_map + len(frames[3])}",
    ]


def test_msgpack_truncated_tail_is_reported(tmp_path: Path) -> None:
    frames = [encode_msgpack(m) for m in _messages(4)]
    data = b"".join(frames)
    path = tmp_path / "cut.msgpack"
    path.write_bytes(data[:-5])
    records = list(read_recording(path))
    assert [r.message for r in records if r.message] == _messages(4)[:3]
    last = records[-1]
    assert last.error is not None and last.position == len(data) - len(frames[-1])
    assert last.error.detail == (
        "message: truncated MessagePack record at the end of the file; "
        f"skipped {len(frames[-1]) - 5} bytes to the end of the file")


def test_msgpack_that_cannot_resync_says_so_and_stops(tmp_path: Path) -> None:
    frames = [encode_msgpack(m) for m in _messages(4)]
    junk = b"\xc1" * (RESYNC_LIMIT + 10)
    path = tmp_path / "junk.msgpack"
    path.write_bytes(frames[0] + junk + b"".join(frames[1:]))
    records = list(read_recording(path))
    assert [r.message for r in records if r.message] == _messages(4)[:1]
    assert records[-1].describe() == (
        f"offset {len(frames[0])}: message: not valid MessagePack (FormatError); "
        f"no message found in the next {RESYNC_LIMIT} bytes; stopping")


def test_msgpack_record_over_the_buffer_limit_is_too_big(tmp_path: Path) -> None:
    """The unpacker never buffers more than MAX_BUFFER bytes, whatever a record claims."""
    huge = {"type": "note", "call": "c1", "text": "x" * (2 * MAX_BUFFER)}
    path = tmp_path / "huge.msgpack"
    path.write_bytes(encode_msgpack(_messages()[0]) + msgpack.packb(huge))
    records = list(read_recording(path))
    assert records[0].message == _messages()[0]
    assert records[1].error is not None and records[1].error.code == "too_big"
    assert records[1].error.detail.startswith(
        f"message: record larger than {MAX_MESSAGE_BYTES} bytes; ")


@pytest.mark.parametrize("form", ["jsonl", "msgpack"])
def test_reading_a_large_file_uses_bounded_memory(tmp_path: Path, form: str) -> None:
    """Peak memory stays near one read chunk and one record, far below the file's size."""
    batch = {"type": "batch", "items": [
        {"type": "sample", "call": "c1", "t": T + i, "dt": 0.25, "cust_db": -30.5}
        for i in range(200)]}
    path = tmp_path / f"big.{form}"
    count = 1000
    write_recording(path, [batch] * count)
    size = path.stat().st_size
    assert size > 8 * MAX_BUFFER
    tracemalloc.start()
    try:
        seen = sum(1 for r in read_recording(path) if r.message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 2 * MAX_BUFFER, f"peak {peak} bytes reading a {size}-byte file"


@pytest.mark.parametrize("form", ["jsonl.gz", "msgpack.gz"])
def test_corrupt_gzip_is_reported_after_the_good_part(tmp_path: Path, form: str) -> None:
    messages = _messages(5000)  # several read chunks: the last one is lost with the stream
    path = tmp_path / f"rec.{form}"
    write_recording(path, messages)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    records = list(read_recording(path))
    assert records[-1].error is not None
    assert records[-1].error.detail.startswith("file: compressed stream is corrupt (")
    assert records[-1].error.detail.endswith("); stopping")
    good = [r.message for r in records if r.message]
    assert good == messages[: len(good)]
    assert len(good) > 1000


def test_format_comes_from_the_name() -> None:
    assert recording_format("a/b.JSONL") == ("jsonl", False)
    assert recording_format("x.msgpack.gz") == ("msgpack", True)
    with pytest.raises(ValueError, match=r"floor\.csv: unknown recording format"):
        recording_format("floor.csv")


def test_missing_file_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_recording(tmp_path / "none.jsonl")
