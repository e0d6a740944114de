"""`floorwatch gateway`: telephony platforms stream live calls in, the hub gets metrics.

One aiohttp server (a WebSocket server and an HTTP server on one port, which the
webhook needs: websockets serves only GET):

- `/twilio`: Twilio Media Streams (feeds.sources.twilio);
- `/audiohook`: Genesys Cloud AudioHook (feeds.sources.audiohook);
- `POST /events`: CTI events (`hold_start`, `hold_end`, `transfer`, …) for a streamed
  call, as protocol `event` messages (a `t` left out means the stream's event time now);
- `GET /status`: the streams and counters, as JSON.

Every route wants the gateway's key: `X-API-KEY` or `Authorization: Bearer` (AudioHook
sends the former), or for Twilio, which sends no headers of ours, a valid
`X-Twilio-Signature` (with `--twilio-auth-token`) or a `key` `<Parameter>`. Each stream
runs in its own task: one that stalls (`stall_s` without a frame) or breaks its protocol
is closed with the reason and its call ended; the others never notice. The hub's
`control` requests (listen, whisper, barge) are POSTed to `control_url`, or logged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, WSMsgType, web

from feeds.client.credentials import HubRefused
from feeds.client.publisher import Publisher
from feeds.core.config import DEFAULT, Audio
from feeds.core.protocol import Message, ProtocolError, validate
from feeds.hub.auth import bearer
from feeds.sources.audiohook import AudioHookStream
from feeds.sources.live import LiveCall, StreamError
from feeds.sources.outbox import Outbox
from feeds.sources.twilio import TwilioStream

log = logging.getLogger("floorwatch.gateway")

MAX_FRAME = 64 * 1024  # a 20 ms chunk is ~300 bytes; AudioHook's frames a few KiB
MAX_BODY = 64 * 1024


@dataclass
class GatewayOptions:
    key: str
    twilio_auth_token: str | None = None
    public_url: str | None = None  # the URL Twilio signs, if a proxy rewrites ours
    control_url: str | None = None
    max_streams: int = 1000
    stall_s: float = 10.0
    buffer: int = 100_000
    audio: Audio = DEFAULT.audio


@dataclass
class Streams:
    live: dict[str, LiveCall] = field(default_factory=dict)
    opened: int = 0
    closed_with_error: int = 0


class Gateway:
    def __init__(self, hub_url: str, options: GatewayOptions, token: str | None = None,
                 ca: str | None = None) -> None:
        self.options = options
        self.publisher = Publisher(hub_url, on_reply=self._from_hub,
                                   on_problem=lambda text: log.warning("%s", text),
                                   token=token, ca=ca)
        self.outbox = Outbox(self.publisher, options.buffer)
        self.streams = Streams()
        self._tasks: set[asyncio.Task] = set()
        self._http: ClientSession | None = None
        self._heard: dict[web.WebSocketResponse, float] = {}  # when each stream last spoke
        self._stalled: dict[web.WebSocketResponse, str] = {}

    # --- the server --------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._auth])
        app.add_routes([web.get("/twilio", self.twilio), web.get("/audiohook", self.audiohook),
                        web.post("/events", self.events), web.get("/status", self.status)])
        app.cleanup_ctx.append(self._running)
        return app

    async def _running(self, app: web.Application) -> Any:
        await self.publisher.__aenter__()
        sender = asyncio.get_running_loop().create_task(self.outbox.run())
        watchdog = asyncio.get_running_loop().create_task(self._watchdog())
        self._http = ClientSession(timeout=ClientTimeout(total=5))
        yield
        for call in list(self.streams.live.values()):
            self.outbox.put(call.end("gateway stopped"))
        if not await self.outbox.drain(5.0):
            log.warning("stopping with %d messages the hub did not take",
                        len(self.outbox.queue))
        sender.cancel()
        watchdog.cancel()
        for task in [sender, watchdog, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, HubRefused):
                await task
        await self._http.close()
        await self.publisher.__aexit__(None, None, None)

    @web.middleware
    async def _auth(self, request: web.Request,
                    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
        if request.path == "/twilio" or self._has_key(request):
            return await handler(request)
        log.warning("refused %s %s from %s: no valid key", request.method, request.path,
                    request.remote)
        raise web.HTTPUnauthorized(text="a valid X-API-KEY or bearer key is needed\n")

    def _has_key(self, request: web.Request) -> bool:
        given = request.headers.get("X-API-KEY") or bearer(request.headers.get("Authorization"))
        return given is not None and hmac.compare_digest(given.encode(),
                                                         self.options.key.encode())

    def _twilio_signed(self, request: web.Request) -> bool:
        token, signature = self.options.twilio_auth_token, request.headers.get(
            "X-Twilio-Signature")
        if not token or not signature:
            return False
        # Twilio signs the wss:// URL it was given; behind a TLS proxy this server sees
        # http://, so the default is that URL rebuilt from the Host header.
        base = self.options.public_url or f"wss://{request.host}"
        url = base.rstrip("/") + request.path_qs
        digest = hmac.new(token.encode(), url.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(base64.b64encode(digest).decode(), signature)

    def _admit(self) -> None:
        if len(self.streams.live) >= self.options.max_streams:
            raise web.HTTPServiceUnavailable(
                text=f"the gateway is at its cap of {self.options.max_streams} streams\n")

    # --- streams -----------------------------------------------------------------------

    async def twilio(self, request: web.Request) -> web.WebSocketResponse:
        self._admit()
        signed = self._twilio_signed(request)

        def authorize(params: dict) -> bool:
            key = params.get("key")
            return signed or (isinstance(key, str) and hmac.compare_digest(
                key.encode(), self.options.key.encode()))

        stream = TwilioStream(authorize, settings=self.options.audio)
        return await self._serve(request, "twilio", stream, stream.receive, None)

    async def audiohook(self, request: web.Request) -> web.WebSocketResponse:
        self._admit()
        stream = AudioHookStream(settings=self.options.audio)
        replies: list[dict] = []

        def text(data: str) -> list[Message]:
            sent, out = stream.text(data)
            replies.extend(sent)
            return out

        return await self._serve(request, "audiohook", stream, text, stream.binary,
                                 replies, stream.disconnect)

    async def _serve(self, request: web.Request, kind: str, stream: Any,
                     on_text: Callable[[str], list[Message]],
                     on_binary: Callable[[bytes], list[Message]] | None,
                     replies: list[dict] | None = None,
                     farewell: Callable[[str], dict] | None = None) -> web.WebSocketResponse:
        # No permessage-deflate: base64 audio barely compresses, and inflating every
        # 20 ms chunk costs more than the rest of its handling.
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, compress=False)
        await ws.prepare(request)
        self.streams.opened += 1
        began, reason, ok = time.monotonic(), "stream ended", True
        clock = asyncio.get_running_loop().time
        try:
            while True:
                self._heard[ws] = clock()
                frame = await ws.receive()
                if frame.type == WSMsgType.TEXT:
                    out = on_text(frame.data)
                elif frame.type == WSMsgType.BINARY and on_binary is not None:
                    out = on_binary(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    raise StreamError("binary frames are not part of this protocol")
                elif frame.type == WSMsgType.ERROR:
                    raise StreamError(f"connection error: {ws.exception()}")
                elif ws in self._stalled:
                    raise StreamError(self._stalled[ws])
                else:  # closed by the platform
                    break
                self._publish(stream.call, out)
                while replies:
                    await ws.send_json(replies.pop(0))
                if getattr(stream, "closed", False):
                    break
        except StreamError as exc:
            reason, ok = f"stream error: {exc}", False
            self.streams.closed_with_error += 1
            if farewell is not None and not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(farewell(str(exc)))
            if ws not in self._stalled:
                await ws.close(code=1008, message=str(exc)[:120].encode())
        finally:
            self._heard.pop(ws, None)
            self._stalled.pop(ws, None)
            call = stream.call
            if call is not None:
                self._publish(call, stream.end(reason))
                if self.streams.live.get(call.call) is call:  # not a newer stream's
                    del self.streams.live[call.call]
            counts = call.pair.counts.describe() if call is not None else "no call"
            (log.info if ok else log.warning)(
                "%s stream from %s: call %s, %.1f s, %s: %s", kind, request.remote,
                call.call if call else "-", time.monotonic() - began, counts,
                call.end_reason if call else reason)
        if not ws.closed:
            await ws.close()
        return ws

    async def _watchdog(self) -> None:
        """Close the streams silent for `stall_s` (one timer for all, not one per frame)."""
        stall = self.options.stall_s
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, stall / 4))
            now = loop.time()
            for ws, heard in list(self._heard.items()):
                if now - heard > stall and ws not in self._stalled:
                    self._stalled[ws] = reason = f"stalled: no frame for {stall:g} s"
                    self._spawn(ws.close(code=1008, message=reason.encode()))

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _publish(self, call: LiveCall | None, messages: list[Message]) -> None:
        if call is not None and not call.ended:
            self.streams.live[call.call] = call  # a platform's restarted stream takes over
        self.outbox.put(messages)

    # --- HTTP --------------------------------------------------------------------------

    async def events(self, request: web.Request) -> web.Response:
        """CTI events for streamed calls: one `event` message, or a list of them."""
        try:
            body = json.loads(await request.read())
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"not JSON: {exc}\n") from None
        items = body if isinstance(body, list) else [body]
        accepted: list[Message] = []
        for index, item in enumerate(items):
            where = f"item {index}: " if isinstance(body, list) else ""
            call = self.streams.live.get(item.get("call")) if isinstance(item, dict) else None
            if call is None:
                raise web.HTTPNotFound(text=f"{where}no streamed call "
                                            f"{_show(item, 'call')} is live here\n")
            item.setdefault("t", call.now)
            try:
                accepted.append(validate(item, frozenset({"event"})))
            except ProtocolError as exc:
                raise web.HTTPBadRequest(text=f"{where}{exc.detail}\n") from None
        for item in accepted:
            if item["event"] in ("hold_start", "hold_end"):
                self.streams.live[item["call"]].on_hold = item["event"] == "hold_start"
        self.outbox.put(accepted)
        return web.json_response({"accepted": len(accepted)})

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({
            "streams": {call_id: {"t": call.now, "counts": call.pair.counts.describe()}
                        for call_id, call in self.streams.live.items()},
            "opened": self.streams.opened, "closed_with_error": self.streams.closed_with_error,
            "queued": len(self.outbox.queue), "sent": self.outbox.sent,
            "dropped": self.outbox.dropped})

    def _from_hub(self, msg: Message) -> None:
        if msg["type"] == "error":
            log.warning("hub error %s: %s", msg.get("code"), msg.get("detail"))
        elif msg["type"] == "control":
            self._spawn(self._control(msg))

    async def _control(self, msg: Message) -> None:
        url = self.options.control_url
        log.info("control %s on %s by %s%s", msg.get("action"), msg.get("call"), msg.get("by"),
                 f" -> {url}" if url else "")
        if not url or self._http is None:
            return
        try:
            async with self._http.post(url, json=msg) as response:
                if response.status >= 300:
                    log.warning("control POST to %s: HTTP %s", url, response.status)
        except (OSError, TimeoutError) as exc:
            log.warning("control POST to %s failed: %s", url, exc)


def _show(item: object, key: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    return repr(value)[:60]


async def serve(gateway: Gateway, host: str, port: int,
                ready: Callable[[int], None] | None = None) -> None:
    """Run until cancelled; `ready` gets the bound port. HubRefused if the hub will not
    take this gateway's token (retrying would not help: the operator must act)."""
    runner = web.AppRunner(gateway.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    if ready is not None:
        ready(bound)
    try:
        raise await gateway.publisher.until_refused()
    finally:
        await runner.cleanup()
