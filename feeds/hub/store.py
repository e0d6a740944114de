"""What the hub keeps: flags with their acks and snoozes, coaching notes, call summaries.

SQLite (stdlib, WAL) on one worker thread, so the event loop never waits on
the disk: the hub queues writes, the thread commits whatever has queued up in
one transaction. Supervisor actions (`write`) return only once committed, so an
echoed ack or note is on disk; engine flags (`put`) are fire-and-forget.
Reads go through the same thread, so they see every write queued before them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from feeds.core.paths import data_dir

log = logging.getLogger("floorwatch.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call TEXT NOT NULL, team TEXT, agent TEXT, started REAL NOT NULL, ended REAL,
    summary TEXT, PRIMARY KEY (call, started)
);
CREATE INDEX IF NOT EXISTS calls_ended ON calls (ended);
CREATE TABLE IF NOT EXISTS flags (
    id TEXT PRIMARY KEY, call TEXT NOT NULL, state TEXT NOT NULL, message TEXT NOT NULL,
    started REAL
);
CREATE INDEX IF NOT EXISTS flags_call ON flags (call);
CREATE TABLE IF NOT EXISTS flag_actions (
    flag TEXT NOT NULL, state TEXT NOT NULL, by TEXT, at REAL NOT NULL, note TEXT, until REAL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY, call TEXT NOT NULL, team TEXT, t REAL NOT NULL, by TEXT,
    text TEXT NOT NULL, started REAL
);
CREATE INDEX IF NOT EXISTS notes_call ON notes (call);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, teams TEXT, token_hash TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ssh_keys (
    key TEXT PRIMARY KEY, user TEXT NOT NULL, fingerprint TEXT NOT NULL, added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, at REAL NOT NULL, user TEXT, role TEXT, address TEXT,
    what TEXT NOT NULL, call TEXT, flag TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
"""

Op = Callable[[sqlite3.Connection], Any]


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a database written by an earlier floorwatch to SCHEMA, keeping its rows.

    A call is its id *and* its start (telephony platforms reuse ids): `calls` was keyed
    by id alone, and flags and notes did not say which call under an id they were of
    (NULL there: the only one the database had)."""
    keys = [row[1] for row in db.execute("PRAGMA table_info(calls)") if row[5]]
    if keys == ["call"]:
        db.executescript("""
            ALTER TABLE calls RENAME TO calls_by_id;
            DROP INDEX IF EXISTS calls_ended;
        """)
    for table in ("flags", "notes"):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if columns and "started" not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN started REAL")
    db.executescript(SCHEMA)
    if keys == ["call"]:
        db.executescript("""
            INSERT INTO calls SELECT call, team, agent, COALESCE(started, 0), ended, summary
                FROM calls_by_id;
            DROP TABLE calls_by_id;
        """)


def default_path() -> Path:
    """The hub's database: floorwatch.db in `data_dir()`."""
    return data_dir() / "floorwatch.db"


class Store:
    """The hub's SQLite database, driven from one background thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._queue: queue.SimpleQueue[tuple[Op, Future | None] | None] = queue.SimpleQueue()
        self._ready: Future = Future()
        self._thread = threading.Thread(target=self._run, name="floorwatch-store", daemon=True)
        self._thread.start()
        self._ready.result()

    # --- worker thread ------------------------------------------------------

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            upgrade(db)
        except sqlite3.Error as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        running = True
        while running:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            db.execute("BEGIN")
            results: list[tuple[Future, Any, BaseException | None]] = []
            for item in batch:
                if item is None:
                    running = False
                    continue
                op, future = item
                try:
                    value, error = op(db), None
                except Exception as exc:  # the caller's to handle; the thread serves on
                    value, error = None, exc
                    if future is None:  # a queued write nobody waits for: say it failed
                        log.error("store: a write failed: %s", exc)
                if future is not None:
                    results.append((future, value, error))
            db.execute("COMMIT")
            for future, value, error in results:
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)
        db.close()

    def _submit(self, op: Op) -> Future:
        future: Future = Future()
        self._queue.put((op, future))
        return future

    def put(self, op: Op) -> None:
        """Queue a write; it is committed with the next batch."""
        self._queue.put((op, None))

    async def run(self, op: Op) -> Any:
        """Run `op` on the store thread after everything queued before it; wait for the commit."""
        return await asyncio.wrap_future(self._submit(op))

    def run_sync(self, op: Op) -> Any:
        return self._submit(op).result()

    def close(self) -> None:
        """Commit what is queued and stop the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    # --- operations (each runs on the store thread) ---------------------------

    def put_flag(self, flag: dict[str, Any], started: float | None = None) -> None:
        """A flag's new state; `started` (the start of its call) when it is first written."""
        text = json.dumps(flag)
        self.put(lambda db: db.execute(
            "INSERT INTO flags (id, call, state, message, started) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, message = excluded.message",
            (flag["id"], flag["call"], flag["state"], text, started),
        ))

    async def supervisor_flag(self, flag: dict[str, Any], at: float) -> None:
        """Record an ack or snooze (who, when, note, until) and the flag's new state."""
        text = json.dumps(flag)

        def op(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO flags (id, call, state, message) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET state = excluded.state, message = excluded.message",
                (flag["id"], flag["call"], flag["state"], text),
            )
            db.execute(
                "INSERT INTO flag_actions (flag, state, by, at, note, until) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (flag["id"], flag["state"], flag.get("by"), at, flag.get("note"),
                 flag.get("until")),
            )

        await self.run(op)

    async def add_note(self, note: dict[str, Any], team: str | None, started: float) -> None:
        """A note on the call that started at `started` under the note's call id."""
        await self.run(lambda db: db.execute(
            "INSERT INTO notes (call, team, t, by, text, started) VALUES (?, ?, ?, ?, ?, ?)",
            (note["call"], team, note["t"], note.get("by"), note["text"], started),
        ))

    def put_summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(summary)
        self.put(lambda db: db.execute(
            "INSERT OR REPLACE INTO calls (call, team, agent, started, ended, summary) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (summary["call"], summary["team"], summary["agent"], summary["started"],
             summary["ended"], text),
        ))

    def open_flags(self) -> dict[str, dict[str, Any]]:
        """Flags whose last state was open, by id: the hub re-applies their ack state."""
        rows = self.run_sync(lambda db: db.execute(
            "SELECT message FROM flags WHERE state != 'cleared'").fetchall())
        return {flag["id"]: flag for flag in (json.loads(row[0]) for row in rows)}

    async def ended_call(self, call: str) -> dict[str, Any] | None:
        """The stored summary of the last call that ended under id `call`, or None."""
        row = await self.run(lambda db: db.execute(
            "SELECT summary FROM calls WHERE call = ? ORDER BY ended DESC LIMIT 1",
            (call,)).fetchone())
        return None if row is None else json.loads(row[0])

    async def history(
        self, since: float | None, teams: list[str] | None, limit: int | None,
        live: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Ended calls (newest first, then `live` summaries) with their flags and notes."""

        def op(db: sqlite3.Connection) -> list[dict[str, Any]]:
            where, args = ["1 = 1"], []
            if since is not None:
                where.append("ended >= ?")
                args.append(since)
            if teams is not None:
                where.append(f"team IN ({', '.join('?' * len(teams))})")
                args.extend(teams)
            sql = f"SELECT summary FROM calls WHERE {' AND '.join(where)} ORDER BY ended DESC"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            calls = [json.loads(row[0]) for row in db.execute(sql, args)]
            calls.extend(dict(summary, live=True) for summary in live)
            for call in calls:  # its own flags and notes, not another call's under its id
                this = (call["call"], call["started"])
                call["flags"] = [json.loads(row[0]) for row in db.execute(
                    "SELECT message FROM flags WHERE call = ? AND (started IS NULL OR "
                    "started = ?) ORDER BY rowid", this)]
                call["notes"] = [
                    {"t": t, "by": by, "text": text} for t, by, text in db.execute(
                        "SELECT t, by, text FROM notes WHERE call = ? AND (started IS NULL "
                        "OR started = ?) ORDER BY id", this)]
            return calls

        return await self.run(op)

    def past_calls(self, limit: int) -> list[tuple[str, dict[str, int]]]:
        """The last `limit` ended calls, oldest first: id and episode numbers per rule
        (feeds.core.engine.Engine.remember)."""

        def op(db: sqlite3.Connection) -> list[tuple[str, dict[str, int]]]:
            rows = db.execute("SELECT call, summary FROM calls ORDER BY ended DESC "
                              "LIMIT ?", (limit,)).fetchall()
            out = []
            for call, summary in reversed(rows):
                episodes = json.loads(summary).get("episodes")
                if not isinstance(episodes, dict):  # written before summaries said
                    episodes = {}
                    for (flag_id,) in db.execute("SELECT id FROM flags WHERE call = ?", (call,)):
                        rule, _, n = flag_id[len(call) + 1:].rpartition(":")
                        if n.isdigit():
                            episodes[rule] = max(episodes.get(rule, 0), int(n))
                out.append((call, episodes))
            return out

        return self.run_sync(op)
