"""Who `floorwatch web` lets in, spoken to as a browser would (HTTP, cookies, Origin):
the sign-in, the cookie's flags, the refusals and the cap on sessions."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.hubkit import self_signed
from tests.remote.conftest import FW, boards_of, free_port, until
from tui.remote.limits import PerMinute


async def signed_in(site: dict) -> str:
    """The session cookie a sign-in with the lead's token gets."""
    async with aiohttp.ClientSession() as http, http.get(
            f"{site['url']}/?token={site['token']}", allow_redirects=False) as reply:
        assert reply.status == 303 and reply.headers["Location"] == "/"
        return reply.cookies["floorwatch_session"].value


def socket(site: dict, cookie: str | None, origin: str | None = "own") -> connect:
    headers = {}
    if cookie:
        headers["Cookie"] = f"floorwatch_session={cookie}"
    if origin:
        headers["Origin"] = site["url"] if origin == "own" else origin
    return connect(site["url"].replace("http", "ws") + "/ws?width=80&height=24",
                   additional_headers=headers, open_timeout=10)


async def refused(site: dict, cookie: str | None, origin: str | None = "own") -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with socket(site, cookie, origin):
            pass
    return caught.value.response.status_code


async def test_a_token_becomes_a_strict_http_only_cookie_and_nothing_opens_without(site):
    # unsafe: aiohttp keeps no cookies for an IP address unless told to (browsers do)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{site['url']}/?token={site['token']}",
                            allow_redirects=False) as reply:
            cookie = reply.headers["Set-Cookie"]
            assert reply.headers["X-Frame-Options"] == "DENY"
        for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
            assert flag in cookie
        assert "Secure" not in cookie  # plain http here; --tls-cert makes it Secure
        async with aiohttp.ClientSession() as fresh:
            for path, status in (("/", 401), ("/download/x", 401), ("/ws", 403),
                                 ("/static/js/textual.js", 200), ("/login", 200)):
                async with fresh.get(site["url"] + path, allow_redirects=False) as reply:
                    assert reply.status == status, path
                    if path == "/":
                        assert "Sign in" in await reply.text()
        async with http.get(site["url"] + "/") as reply:  # the cookie jar has it now
            assert reply.status == 200
            assert f'"ws://127.0.0.1:{site["url"].rsplit(":", 1)[1]}/ws"' in await reply.text()


async def test_the_socket_wants_its_own_origin_and_the_cookie_and_has_a_cap(site):
    assert until(lambda: not boards_of(site), 10.0)  # earlier tests' pages have ended
    cookie = await signed_in(site)
    assert await refused(site, None) == 401
    assert await refused(site, cookie, origin=None) == 403
    assert await refused(site, cookie, origin="http://127.0.0.1:1") == 403
    assert await refused(site, "fw_not-a-session") == 401
    async with contextlib.AsyncExitStack() as stack:
        boards = [await stack.enter_async_context(socket(site, cookie)) for _ in range(3)]
        for ws in boards:  # each a board of its own: its first bytes arrive
            assert await asyncio.wait_for(ws.recv(), 15)
        assert await refused(site, cookie) == 503  # --max-sessions 3
    assert until(lambda: not boards_of(site), 10.0)  # each ended with its page


async def test_wrong_tokens_are_refused_and_an_address_that_keeps_trying_waits(floor):
    run = floor["run"]
    producer = subprocess.run([FW, "user", "add", "feeder", "--role", "producer", "--db",
                               floor["db"]], **run).stdout.splitlines()[-1]
    viewer = subprocess.run([FW, "user", "add", "vic", "--role", "viewer", "--team", "tech",
                             "--db", floor["db"]], **run).stdout.splitlines()[-1]
    port = free_port()
    floor["server"]("web-limits", "web", "--hub", floor["hub"], "--port", str(port), "--db",
                    floor["db"])
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async def sign_in(token: str, origin: str = url) -> tuple[int, str]:
            async with http.post(url + "/login", data={"token": token},
                                 headers={"Origin": origin}, allow_redirects=False) as r:
                return r.status, await r.text()

        assert (await sign_in(viewer))[0] == 303  # a viewer may watch (read-only)
        assert (await sign_in(viewer, "http://elsewhere.example"))[0] == 403
        status, page = await sign_in(producer)  # a feed's token opens no board
        assert status == 401 and "not a floorwatch user" in page
        for _ in range(9):
            assert (await sign_in("fw_guess"))[0] == 401
        status, page = await sign_in(floor["token"])  # ten failures: even a right one waits
        assert status == 429 and "too many failed sign-ins" in page


def test_failures_are_counted_a_minute_per_address_and_forgotten():
    now = [0.0]
    limit = PerMinute(2, clock=lambda: now[0])
    limit.add("a")
    limit.add("a")
    assert limit.full("a") and not limit.full("b")
    now[0] = 61.0
    assert not limit.full("a")
    assert limit._seen == {}  # a quiet address costs nothing


async def test_with_a_certificate_it_serves_https_and_the_cookie_is_secure(floor, tmp_path):
    cert, key = self_signed(tmp_path)
    port = free_port()
    floor["server"]("web-tls", "web", "--hub", floor["hub"], "--port", str(port), "--db",
                    floor["db"], "--tls-cert", cert, "--tls-key", key)
    url = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=cert)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/?token={floor['token']}", ssl=trust,
                            allow_redirects=False) as reply:
            assert reply.status == 303
            assert "Secure" in reply.headers["Set-Cookie"]
        async with http.get(f"{url}/", ssl=trust, headers={
                "Cookie": f"floorwatch_session={reply.cookies['floorwatch_session'].value}"}
                ) as page:
            assert f'"wss://127.0.0.1:{port}/ws"' in await page.text()
    with pytest.raises(aiohttp.ClientConnectorCertificateError):  # untrusted: no way in
        async with aiohttp.ClientSession() as http, http.get(url + "/"):
            pass
