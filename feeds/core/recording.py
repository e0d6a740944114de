"""Recordings: files of protocol messages, read as a stream and written for tests and demos.

Four forms, chosen by the file name: `.jsonl` (one JSON message per line),
`.msgpack` (MessagePack maps, back to back) and their gzip forms `.jsonl.gz`
and `.msgpack.gz` (a floorwatch extension). Reading holds one read chunk and
one record (at most `MAX_BUFFER` bytes; a small multiple while resynchronising a
corrupt MessagePack stream), so a 2 GB file streams like a small one.

A reader yields one `Record` per entry: the validated message, or the
`ProtocolError` that says why the entry was skipped, with its position (line
number for JSON Lines, byte offset of the uncompressed stream for
MessagePack), so a caller can report ``line 12: sample.cust_db: expected
number or null, got 'loud'`` and go on. A MessagePack stream that is corrupt
is resynchronised at the next map that looks like a message; if none follows
within `RESYNC_LIMIT` bytes, the reader says so and stops.
"""

from __future__ import annotations

import gzip
import reprlib
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

import msgpack

from feeds.core.protocol import (
    MAX_MESSAGE_BYTES,
    Message,
    ProtocolError,
    _fast_sample,
    decode_json,
    encode_json,
    encode_msgpack,
    validate,
)

#: Bytes read from the file at a time.
READ_SIZE = 64 * 1024
#: Most bytes the MessagePack unpacker buffers: one record of the largest size plus a chunk.
MAX_BUFFER = MAX_MESSAGE_BYTES + READ_SIZE
#: How far past a corrupt spot the MessagePack reader looks for the next message.
RESYNC_LIMIT = MAX_MESSAGE_BYTES

FORMATS = {
    ".jsonl": ("jsonl", False),
    ".msgpack": ("msgpack", False),
    ".jsonl.gz": ("jsonl", True),
    ".msgpack.gz": ("msgpack", True),
}

#: First bytes of a MessagePack map: fixmap, map 16, map 32.
_MAP_HEADERS = frozenset(range(0x80, 0x90)) | {0xDE, 0xDF}
#: What a broken gzip stream raises while being read.
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


class Record(NamedTuple):
    """One entry of a recording: exactly one of `message` and `error` is set."""

    unit: str  # "line" or "offset"
    position: int
    message: Message | None
    error: ProtocolError | None

    @property
    def where(self) -> str:
        return f"{self.unit} {self.position}"

    def describe(self) -> str:
        """The error as one line for stderr, e.g. ``line 12: sample.cust_db: ...``."""
        detail = self.error.detail if self.error is not None else "ok"
        return f"{self.where}: {detail}"


def recording_format(path: str | Path) -> tuple[str, bool]:
    """("jsonl" | "msgpack", gzipped) from the file name; ValueError for any other name."""
    name = str(path).lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise ValueError(
        f"{path}: unknown recording format; expected a name ending in "
        + ", ".join(FORMATS)
    )


#: Given a map whose type is "sample", not yet validated: applies it and returns True if it
#: is a well-formed sample in the usual shape, else returns False, and the reader validates
#: it and yields it as usual (see Recording.divert_samples).
SampleTaker = Callable[[dict], bool]


class Recording:
    """One pass over a recording file: iterating it streams its records.

    Opening checks the name and opens the file at once (ValueError for an unknown
    file name, OSError for a file that cannot be opened); everything wrong inside
    the file comes out as records with an error. `allowed` limits the message types.
    """

    def __init__(self, path: str | Path, allowed: frozenset[str] | None = None) -> None:
        kind, self.gzipped = recording_format(path)
        self.reader = read_jsonl if kind == "jsonl" else read_msgpack
        self.allowed = allowed
        self.take: SampleTaker | None = None
        self.raw = open(path, "rb")  # noqa: SIM115 - closed by _records

    def divert_samples(self, take: SampleTaker) -> None:
        """Offer each `sample` to `take` in stream order; yield it only if it is declined.

        `take` checks the sample itself (see SampleTaker and Engine.take_sample), so a
        sample's map is read once; a ProtocolError it raises comes out as that record's
        error. This is a fast replay's path (feeds.core.replay): no validation pass, no record
        object and no generator switch for nine messages in ten. Call it before iterating.
        """
        self.take = take

    def __iter__(self) -> Iterator[Record]:
        return _records(self.raw, self.gzipped, self.reader, self.allowed, self.take)


def read_recording(path: str | Path, allowed: frozenset[str] | None = None) -> Recording:
    """Stream the records of a recording file (see Recording)."""
    return Recording(path, allowed)


def _records(
    raw: IO[bytes],
    gzipped: bool,
    reader: Callable[[IO[bytes], frozenset[str] | None, SampleTaker | None], Iterator[Record]],
    allowed: frozenset[str] | None,
    take: SampleTaker | None,
) -> Iterator[Record]:
    stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
    try:
        yield from reader(stream, allowed, take)
    finally:
        stream.close()
        raw.close()


# --- JSON Lines ---------------------------------------------------------------


def _bad_stream(unit: str, position: int, exc: BaseException) -> Record:
    error = ProtocolError(f"file: compressed stream is corrupt ({exc}); stopping",
                          code="bad_encoding")
    return Record(unit, position, None, error)


def read_jsonl(stream: IO[bytes], allowed: frozenset[str] | None = None,
               take: SampleTaker | None = None) -> Iterator[Record]:
    """One record per non-blank line; a line longer than a message may be is skipped whole.

    With `take`, samples are offered to it first (see Recording.divert_samples).
    """
    number = 0
    try:
        while line := stream.readline(MAX_MESSAGE_BYTES + 1):
            number += 1
            if len(line) > MAX_MESSAGE_BYTES and not line.endswith(b"\n"):
                while (rest := stream.readline(READ_SIZE)) and not rest.endswith(b"\n"):
                    pass
                error = ProtocolError(f"message: larger than {MAX_MESSAGE_BYTES} bytes",
                                      code="too_big")
                yield Record("line", number, None, error)
            elif not line.isspace():
                try:
                    msg = decode_json(line, allowed)
                    if take is None or msg["type"] != "sample" or not take(msg):
                        yield Record("line", number, msg, None)
                except ProtocolError as exc:
                    yield Record("line", number, None, exc)
    except _GZIP_ERRORS as exc:
        yield _bad_stream("line", number + 1, exc)


# --- MessagePack ----------------------------------------------------------------


def _unpacker() -> msgpack.Unpacker:
    return msgpack.Unpacker(raw=False, strict_map_key=True, max_buffer_size=MAX_BUFFER)


_UNPACK_ERRORS = (msgpack.UnpackException, ValueError, RecursionError)


def _plausible(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("type"), str)


def _probe(data: bytearray, at: int) -> bool | None:
    """Whether a map holding a string `type` starts at `data[at]`; None: need more bytes."""
    if data[at] not in _MAP_HEADERS:
        return False
    size = 256
    while size <= 4 * MAX_MESSAGE_BYTES:
        probe = _unpacker()
        probe.feed(data[at : at + min(size, MAX_MESSAGE_BYTES)])
        try:
            return _plausible(probe.unpack())
        except msgpack.OutOfData:
            if at + size >= len(data):
                return None
            size *= 4
        except _UNPACK_ERRORS:
            return False
    return False


class _MsgpackReader:
    """The state of one MessagePack stream: an unpacker plus the bytes it may need again."""

    def __init__(self, stream: IO[bytes], allowed: frozenset[str] | None,
                 take: SampleTaker | None) -> None:
        self.stream = stream
        self.allowed = allowed
        self.take = take
        self.unpacker = _unpacker()
        self.origin = 0  # file offset of the unpacker's first byte
        self.kept = bytearray()  # the bytes read since file offset `kept_at`
        self.kept_at = 0
        self.end = 0  # file offset just past the last byte read
        self.eof = False
        self.broken: Exception | None = None

    def read_chunk(self) -> bytes:
        """The next chunk of the file, also kept for resynchronising; b"" at the end.

        A corrupt compressed stream also ends the file; `broken` says why.
        """
        try:
            chunk = b"" if self.eof else self.stream.read(READ_SIZE)
        except _GZIP_ERRORS as exc:
            self.broken = exc
            chunk = b""
        if chunk:
            self.kept += chunk
            self.end += len(chunk)
        else:
            self.eof = True
        return chunk

    def records(self) -> Iterator[Record]:
        """Every record of the stream; the loop over well-formed messages stays in C
        (the unpacker's iterator) but for one check, so the reader costs little more
        than decoding."""
        new = tuple.__new__  # builds a Record without the namedtuple's Python-level __new__
        allowed, take = self.allowed, self.take
        samples = allowed is None or "sample" in allowed
        while True:
            unpacker, origin = self.unpacker, self.origin
            tell = unpacker.tell
            start = origin + tell()
            code = "bad_encoding"
            try:
                for obj in unpacker:
                    # dict.get(obj, ...), not obj.get(...): compiled, a C call, no method lookup
                    if type(obj) is not dict or type(kind := dict.get(obj, "type")) is not str:
                        problem = f"expected a map with a string 'type', got {reprlib.repr(obj)}"
                        break
                    done, error = False, None
                    if kind == "sample" and samples:
                        if take is not None:
                            try:
                                done = take(obj)
                            except ProtocolError as exc:
                                done, error = True, exc
                        elif _fast_sample(obj):
                            done = True
                            yield new(Record, ("offset", start, obj, None))
                    if not done:
                        try:
                            msg = validate(obj, allowed)
                        except ProtocolError as exc:
                            error = exc
                        else:
                            yield new(Record, ("offset", start, msg, None))
                    if error is not None:
                        yield new(Record, ("offset", start, None, error))
                    start = origin + tell()
                else:  # out of data: read on
                    del self.kept[: start - self.kept_at]
                    self.kept_at = start
                    chunk = self.read_chunk()
                    if not chunk and (self.broken is not None or start == self.end):
                        break
                    if not chunk:
                        problem = "truncated MessagePack record at the end of the file"
                    else:
                        try:
                            unpacker.feed(chunk)
                            continue
                        except msgpack.BufferFull:
                            problem = f"record larger than {MAX_MESSAGE_BYTES} bytes"
                            code = "too_big"
            except _UNPACK_ERRORS as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                problem = f"not valid MessagePack ({reason})"
            found = self.resync(start)
            if found is None:
                if self.eof and start + RESYNC_LIMIT >= self.end:
                    tail = f"skipped {self.end - start} bytes to the end of the file"
                else:
                    tail = f"no message found in the next {RESYNC_LIMIT} bytes; stopping"
                yield Record("offset", start, None,
                             ProtocolError(f"message: {problem}; {tail}", code))
                break
            yield Record("offset", start, None, ProtocolError(
                f"message: {problem}; skipped {found - start} bytes to the next message "
                f"at offset {found}", code))
        if self.broken is not None:
            yield _bad_stream("offset", self.end, self.broken)

    def resync(self, start: int) -> int | None:
        """Restart the unpacker at the first plausible message after `start`, if any."""
        at = start + 1
        while at - start <= RESYNC_LIMIT:
            if at >= self.end:
                if not self.read_chunk():
                    return None
                continue
            verdict = _probe(self.kept, at - self.kept_at)
            if verdict is None and self.read_chunk():
                continue
            if verdict:
                del self.kept[: at - self.kept_at]
                self.kept_at = self.origin = at
                self.unpacker = _unpacker()
                self.unpacker.feed(self.kept)
                return at
            at += 1
        return None


def read_msgpack(stream: IO[bytes], allowed: frozenset[str] | None = None,
                 take: SampleTaker | None = None) -> Iterator[Record]:
    """One record per MessagePack object, with its byte offset; resyncs after corrupt bytes.

    With `take`, samples are offered to it first (see Recording.divert_samples).
    """
    return _MsgpackReader(stream, allowed, take).records()


# --- writing ----------------------------------------------------------------------


class RecordingWriter:
    """Writes messages to a recording in the form its file name asks for.

    Gzip output carries no timestamp or name, so the same messages give the same bytes.
    """

    def __init__(self, path: str | Path) -> None:
        kind, gzipped = recording_format(path)
        self.path = Path(path)
        self.count = 0
        self._json = kind == "jsonl"
        self._raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._out: IO[bytes] = (
            gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
            if gzipped else self._raw
        )

    def write(self, msg: Mapping[str, Any]) -> None:
        if self._json:
            self._out.write(encode_json(msg).encode() + b"\n")
        else:
            self._out.write(encode_msgpack(msg))
        self.count += 1

    def close(self) -> None:
        self._out.close()
        self._raw.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_recording(path: str | Path, messages: Iterable[Mapping[str, Any]]) -> int:
    """Write all `messages` to `path`; returns how many were written."""
    with RecordingWriter(path) as writer:
        for msg in messages:
            writer.write(msg)
        return writer.count
