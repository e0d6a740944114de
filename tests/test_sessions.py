"""Remote sessions' tokens and users' SSH keys in the hub's database, and the command
that attaches a key: what the SSH and web servers rely on, without a network."""

from __future__ import annotations

import sqlite3
import time
from functools import partial

import asyncssh
import pytest

from feeds.hub.auth import (
    close_session,
    identity,
    keys_of,
    new_token,
    open_session,
    put_user,
    remove_user,
)
from feeds.hub.store import Store
from tui.cli import main


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "hub.db")
    store.run_sync(partial(put_user, name="lee", role="lead", teams=["billing"],
                           token=new_token()))
    yield store
    store.close()


def test_a_session_token_is_its_user_until_closed_or_expired(store):
    token, short = new_token(), new_token()
    store.run_sync(partial(open_session, name="lee", token=token, seconds=60))
    store.run_sync(partial(open_session, name="lee", token=short, seconds=-1))
    who = store.run_sync(partial(identity, token=token))
    assert (who.user, who.role, who.teams) == ("lee", "lead", frozenset({"billing"}))
    assert store.run_sync(partial(identity, token=short)) is None  # expired
    store.run_sync(partial(close_session, token=token))
    assert store.run_sync(partial(identity, token=token)) is None


def test_removing_a_user_ends_their_sessions_and_keys(store):
    token = new_token()
    store.run_sync(partial(open_session, name="lee", token=token, seconds=60))
    key = asyncssh.generate_private_key("ssh-ed25519")
    line = key.export_public_key("openssh").decode().strip()
    store.run_sync(lambda db: db.execute(
        "INSERT INTO ssh_keys (user, key, fingerprint, added) VALUES (?, ?, ?, ?)",
        ("lee", line, key.get_fingerprint(), time.time())))
    assert store.run_sync(partial(keys_of, name="lee")) == [line]
    assert store.run_sync(partial(remove_user, name="lee"))
    assert store.run_sync(partial(identity, token=token)) is None
    assert store.run_sync(partial(keys_of, name="lee")) == []


def test_add_key_takes_a_public_key_and_names_every_problem(tmp_path, capsys):
    db = str(tmp_path / "hub.db")
    assert main(["user", "add", "lee", "--role", "lead", "--db", db]) == 0
    key = asyncssh.generate_private_key("ssh-ed25519")
    (tmp_path / "lee.pub").write_bytes(key.export_public_key("openssh"))
    (tmp_path / "junk.pub").write_text("not a key\n")
    capsys.readouterr()
    assert main(["user", "add-key", "lee", str(tmp_path / "lee.pub"), "--db", db]) == 0
    assert key.get_fingerprint() in capsys.readouterr().out
    for args, problem in ((["lee", str(tmp_path / "junk.pub")], "junk.pub"),
                          (["lee", str(tmp_path / "missing.pub")], "missing.pub"),
                          (["nobody", str(tmp_path / "lee.pub")], "nobody")):
        assert main(["user", "add-key", *args, "--db", db]) == 2
        assert problem in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT user FROM ssh_keys").fetchall() == [("lee",)]


def test_an_operation_that_raises_leaves_the_store_serving(store):
    """Any error in an operation goes to its caller; the store's thread serves on (one
    that died would leave every later caller waiting forever)."""

    def broken(db):
        raise ValueError("no such thing")

    with pytest.raises(ValueError, match="no such thing"):
        store.run_sync(broken)
    store.put(broken)  # nobody waits for this one: logged
    assert store.run_sync(lambda db: db.execute("SELECT 1").fetchone()) == (1,)
