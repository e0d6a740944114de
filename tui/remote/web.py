"""`floorwatch web`: the board in a browser, through textual-serve, behind floorwatch's users.

textual-serve serves a page with a terminal (xterm.js) and, per WebSocket to `/ws`, runs
the app in a process of its own, speaking its web driver's protocol on stdin/stdout.
This module puts floorwatch's users in front of it: `/?token=TOKEN` or the sign-in
form exchanges a user's token for a session token (the hub knows it from the same
database) in an HttpOnly, SameSite=Strict cookie; without that cookie nothing but the
sign-in form and the page's static files is served (401); the WebSocket is refused to
pages of any other origin (403) and beyond a cap on sessions (503); each board runs as
the cookie's user, in its own process group, ended with its page.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from feeds.hub.auth import Identity, identity, new_token, open_session
from feeds.hub.store import Store
from tui.remote.child import board_command, end_group
from tui.remote.limits import PerMinute

log = logging.getLogger("floorwatch.web")

COOKIE = "floorwatch_session"
#: A browser session's token is good for a shift; signing in again makes a new one.
SESSION_TTL_S = 12 * 3600.0
#: How long a board has to leave after its page asks it to, before its group is ended.
QUIT_GRACE_S = 2.0
#: Headers on every page: never framed by another site (a key-driven board could be
#: clickjacked), never cached, no referrer (the first URL may carry a token).
HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

SIGN_IN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>floorwatch: sign in</title>
<style>body{{font-family:monospace;background:#0c181f;color:#eee;display:flex;
justify-content:center;margin-top:20vh}}form{{display:flex;flex-direction:column;gap:1em}}
input,button{{font:inherit;padding:.5em}}p.problem{{color:#ffb4a9}}</style></head>
<body><form method="post" action="/login"><h1>floorwatch</h1>{problem}
<label>Your floorwatch token (<code>floorwatch user add</code> printed it)
<br><input type="password" name="token" autocomplete="current-password" autofocus
required></label><button type="submit">Sign in</button></form></body></html>
"""


@dataclass
class Limits:
    max_sessions: int = 50
    #: Failed sign-ins an address may make a minute before it is told to wait (429).
    failures_per_minute: int = 10


class Board(AppService):
    """textual-serve's app service, running the board as the signed-in user: their
    session token in the environment, in a process group of its own that ends with
    the page (asked to quit, then HUP, then KILL)."""

    def __init__(self, hub: str, token: str, **service: Any) -> None:
        super().__init__(" ".join(board_command(hub)), **service)
        self.hub, self.token = hub, token

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        env = super()._build_environment(width, height)
        env["FLOORWATCH_TOKEN"] = self.token
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24
                                ) -> asyncio.subprocess.Process:
        pipe = asyncio.subprocess.PIPE
        self._process = process = await asyncio.create_subprocess_exec(
            *board_command(self.hub), stdin=pipe, stdout=pipe, stderr=pipe,
            env=self._build_environment(width, height), start_new_session=True)
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(super().stop(), QUIT_GRACE_S)
        if self._process is not None:
            await end_group(self._process)


class WebBoard(Server):
    """The server: the hub, the users' database, the limits, the sessions running.
    `secure`: served over TLS, so the cookie is Secure too."""

    def __init__(self, hub: str, store: Store, limits: Limits | None = None,
                 secure: bool = False) -> None:
        super().__init__(command=" ".join(board_command(hub)), title="floorwatch",
                         templates_path=Path(__file__).parent / "templates")
        self.hub, self.store, self.secure = hub, store, secure
        self.limits = limits or Limits()
        self.sessions = 0
        self._failures = PerMinute(self.limits.failures_per_minute)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard())
        app.router.add_route("POST", "/login", self.sign_in)
        app.router.add_route("GET", "/login", self.sign_in_form)
        app.on_response_prepare.append(self._headers)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """(textual-serve prints a banner here; `serve` prints one line instead.)"""

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(HEADERS)

    def _guard(self) -> Callable:
        @web.middleware
        async def guard(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                        ) -> web.StreamResponse:
            path = request.path
            if path == "/ws" and not same_origin(request):
                raise web.HTTPForbidden(text="the board's socket is for its own pages only")
            if path.startswith("/static/") or path == "/login":
                return await handler(request)
            if path == "/" and "token" in request.query:
                return await self._exchange(request, request.query["token"])
            who = await self._session_of(request)
            if who is None:
                if path == "/":
                    return self._form(401)
                raise web.HTTPUnauthorized(text="sign in first: /login")
            request["who"] = who
            return await handler(request)

        return guard

    async def _session_of(self, request: web.Request) -> Identity | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        return await self.store.run(partial(identity, token=token))

    def _form(self, status: int, problem: str = "") -> web.Response:
        shown = f'<p class="problem">{html.escape(problem)}</p>' if problem else ""
        return web.Response(status=status, text=SIGN_IN.format(problem=shown),
                            content_type="text/html")

    async def sign_in_form(self, request: web.Request) -> web.Response:
        return self._form(200)

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        if not same_origin(request):
            raise web.HTTPForbidden(text="sign-in from a page of another site")
        form = await request.post()
        return await self._exchange(request, str(form.get("token", "")))

    async def _exchange(self, request: web.Request, token: str) -> web.StreamResponse:
        """A user's token for a session cookie, then the board without the token in the
        address bar; a wrong token gets the form again, and an address that keeps
        trying is told to wait."""
        address = request.remote or "?"
        if self._failures.full(address):
            return self._form(429, "too many failed sign-ins from this address: "
                                   "try again in a minute")
        who = await self.store.run(partial(identity, token=token.strip()))
        if who is None or who.role == "producer":
            self._failures.add(address)
            log.warning("refused sign-in from %s", address)
            return self._form(401, "that token is not a floorwatch user's (ask your admin)")
        session = new_token()
        await self.store.run(partial(open_session, name=who.user, token=session,
                                     seconds=SESSION_TTL_S))
        log.info("signed in: user %s (%s) from %s", who.user, who.role, address)
        response = web.HTTPSeeOther("/")
        response.set_cookie(COOKIE, session, max_age=int(SESSION_TTL_S), path="/",
                            httponly=True, samesite="Strict", secure=self.secure)
        return response

    async def handle_index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its addresses taken from the request (the host and
        scheme the browser used), not from a configured public URL."""
        origin = own_origin(request)
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{origin}/static/"}},
            "application": {"name": "floorwatch"},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One board per page, as the cookie's user (textual-serve's handler, with the
        origin checked, the sessions counted and the process ended with the page)."""
        if self.sessions >= self.limits.max_sessions:
            raise web.HTTPServiceUnavailable(
                text=f"all {self.limits.max_sessions} sessions are in use")
        who: Identity = request["who"]
        websocket = web.WebSocketResponse(heartbeat=15)
        board = Board(self.hub, request.cookies[COOKIE], write_bytes=websocket.send_bytes,
                      write_str=websocket.send_str, close=websocket.close,
                      download_manager=self.download_manager)
        began = time.monotonic()
        self.sessions += 1
        try:
            await websocket.prepare(request)
            await board.start(to_int(request.query.get("width", "80"), 80),
                              to_int(request.query.get("height", "24"), 24))
            await self._process_messages(websocket, board)
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            await board.stop()
            self.sessions -= 1
            log.info("session ended: user %s from %s, %.0f s", who.user, request.remote,
                     time.monotonic() - began)
        return websocket


def own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def same_origin(request: web.Request) -> bool:
    """Whether the request comes from one of this server's own pages (a browser
    always says where a WebSocket or a form post comes from)."""
    return request.headers.get("Origin") == own_origin(request)


async def serve(board: WebBoard, host: str, port: int, tls: ssl.SSLContext | None = None,
                ready: asyncio.Future | None = None) -> None:
    """Serve until cancelled; `ready` gets the listening port."""
    runner = web.AppRunner(await board._make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if tls else "http"
    print(f"floorwatch web: serving the board of {board.hub} on {scheme}://{host}:{port}/",
          flush=True)
    if ready is not None:
        ready.set_result(port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()

