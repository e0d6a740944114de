"""wss://: the hub serves TLS with the certificate it is given; clients trust a CA file."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.client.credentials import find_token
from feeds.client.subscriber import FeedClient
from tests.hubkit import self_signed

FLOORWATCH = str(Path(sys.executable).parent / "floorwatch")
pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


async def test_a_hub_with_a_certificate_serves_wss_to_clients_that_trust_it(tmp_path,
                                                                            monkeypatch):
    cert, key = self_signed(tmp_path)
    hub = await asyncio.create_subprocess_exec(
        FLOORWATCH, "hub", "--port", "0", "--db", str(tmp_path / "hub.db"),
        "--tls-cert", cert, "--tls-key", key,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(hub.stdout.readline(), 30)).decode()
        assert line.startswith("floorwatch hub on wss://127.0.0.1:"), line
        url = line.split()[3]
        sim = await asyncio.create_subprocess_exec(
            FLOORWATCH, "simulate", "--to", url + "/publish", "--ca", cert, "--calls", "4",
            "--warmup", "60", "--duration", "61", stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(sim.communicate(), 60)
        assert sim.returncode == 0, err.decode()
        async with FeedClient(url + "/subscribe", token=find_token(), ca=cert) as client:
            stream = client.messages()
            async with asyncio.timeout(20):
                while (msg := await anext(stream))["type"] != "snapshot":
                    assert msg.get("state") != "refused", msg
        assert msg["calls"] or msg["flags"] is not None
        # a client that does not trust the certificate never gets in
        untrusting = FeedClient(url + "/subscribe", token=find_token(), backoff_initial=0.1)
        async with untrusting:
            stream = untrusting.messages()
            async with asyncio.timeout(10):
                while (msg := await anext(stream)).get("state") != "reconnecting":
                    assert msg["type"] == "status", msg
            assert "CERTIFICATE_VERIFY_FAILED" in msg["detail"]
        # $FLOORWATCH_CA does what --ca does (how the ssh and web servers' boards get it)
        monkeypatch.setenv("FLOORWATCH_CA", cert)
        async with FeedClient(url + "/subscribe", token=find_token()) as client:
            stream = client.messages()
            async with asyncio.timeout(20):
                while (msg := await anext(stream))["type"] != "snapshot":
                    assert msg.get("state") != "reconnecting", msg
    finally:
        hub.terminate()
        await asyncio.wait_for(hub.wait(), 30)


def test_a_certificate_without_its_key_is_refused():
    run = subprocess.run([FLOORWATCH, "hub", "--tls-cert", "x.pem"], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2 and "--tls-key" in run.stderr
