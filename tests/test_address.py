"""Hub addresses as users type them: completed, or refused with the problem named."""

from __future__ import annotations

import pytest

from feeds.client.address import hub_url
from tests.test_cli import _floorwatch


def test_a_bare_address_gets_the_commands_path():
    assert hub_url("ws://127.0.0.1:8765", "/subscribe") == "ws://127.0.0.1:8765/subscribe"
    assert hub_url("wss://hub.example:443/", "/publish") == "wss://hub.example:443/publish"
    assert hub_url("ws://h:1/publish", "/publish") == "ws://h:1/publish"


@pytest.mark.parametrize(("url", "problem"), [
    ("ws://127.0.0.1:8765/publish", "this command uses the hub's /subscribe, not /publish"),
    ("ws://127.0.0.1:notaport", "the port is not a number from 0 to 65535"),
    ("ws://127.0.0.1:99999", "the port is not a number from 0 to 65535"),
    ("http://127.0.0.1:8765", "expected ws://host:port"),
    ("127.0.0.1:8765", "expected ws://host:port"),
])
def test_a_wrong_address_is_refused_naming_the_problem(url: str, problem: str):
    with pytest.raises(ValueError, match=problem.replace("/", ".")):
        hub_url(url, "/subscribe")


@pytest.mark.parametrize(("args", "problem"), [
    (["watch", "ws://127.0.0.1:8765/publish"], "uses the hub's /subscribe, not /publish"),
    (["watch", "ws://127.0.0.1:notaport"], "the port is not a number"),
    (["simulate", "--to", "ws://127.0.0.1:8765/subscribe"], "uses the hub's /publish"),
    (["replay", "x.jsonl", "--to", "ws://h:1/subscribe"], "uses the hub's /publish"),
])
def test_commands_exit_2_on_a_wrong_address_before_connecting(args: list[str], problem: str):
    done = _floorwatch(*args)
    assert done.returncode == 2
    assert problem in done.stderr
