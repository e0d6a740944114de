"""The embedded demo floor: hub + simulated floor in one process, nothing to set up.

    async with DemoFloor(agents=40, seed=1, warmup_s=90) as floor:
        client = FeedClient(floor.url)      # ws://127.0.0.1:<ephemeral>/subscribe

The hub listens on 127.0.0.1 on an ephemeral port with its database in a
temporary directory (unless `db` is given); the simulator publishes the
generator's floor into it, the first `warmup_s` seconds at once so the board
opens on calls in progress. `floorwatch demo --headless` prints its flag feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from functools import partial
from pathlib import Path

from feeds.client.publisher import Publisher, play
from feeds.client.subscriber import FeedClient
from feeds.core.config import DEFAULT, Config
from feeds.core.flags import Flag
from feeds.core.replay import flag_json, flag_line
from feeds.hub.auth import new_token, put_user
from feeds.hub.server import Hub, running_hub, server_url
from feeds.hub.store import Store
from feeds.sim.simulate import live_floor, live_wait

#: Longest wait for the warm-up to be published and taken by the hub.
WARMUP_WAIT_S = 30.0


class DemoFloor:
    """An async context manager running a hub and a live simulated floor on loopback."""

    def __init__(
        self,
        agents: int = 40,
        seed: int = 1,
        warmup_s: float = 90.0,
        rate: float = 4.0,
        teams: int = 4,
        db: str | Path | None = None,
        config: Config = DEFAULT,
        user: str = "demo",
    ) -> None:
        self.user = user  # the demo's supervisor (an admin): `token` is theirs
        self.token = new_token()
        self.agents, self.seed, self.warmup_s = agents, seed, warmup_s
        self.rate, self.teams, self.db, self.config = rate, teams, db, config
        self.hub: Hub | None = None
        self.url = ""
        self.publish_url = ""
        self._stack = contextlib.AsyncExitStack()
        self._producer: asyncio.Task | None = None
        self.publisher: Publisher | None = None

    async def __aenter__(self) -> DemoFloor:
        stack = self._stack
        try:
            db = self.db
            if db is None:
                db = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo.db"
            store = Store(db)
            stack.callback(store.close)
            # Secure as any hub: the floor publishes and the supervisor watches with tokens
            # of their own, made here, so the demo needs no set-up.
            producer = new_token()
            store.run_sync(partial(put_user, name="demo-floor", role="producer", teams=None,
                                   token=producer))
            store.run_sync(partial(put_user, name=self.user, role="admin", teams=None,
                                   token=self.token))
            self.hub = Hub(self.config, store, auth=True)
            server = await stack.enter_async_context(running_hub(self.hub))
            self.url = server_url(server, "/subscribe")
            self.publish_url = server_url(server, "/publish")
            caught_up = asyncio.Event()
            self.publisher = await stack.enter_async_context(
                Publisher(self.publish_url, token=producer))
            self._producer = asyncio.get_running_loop().create_task(play(
                self.publisher,
                live_floor(self.agents, self.rate, self.seed, self.warmup_s, self.teams),
                live_wait, caught_up=caught_up))
            await self._warmed_up(caught_up)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def _warmed_up(self, caught_up: asyncio.Event) -> None:
        """Return once the hub has taken the warm-up, so a first snapshot shows it."""
        assert self.hub and self._producer and self.publisher
        done = asyncio.ensure_future(caught_up.wait())
        await asyncio.wait([done, self._producer], timeout=WARMUP_WAIT_S,
                           return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
        if self._producer.done():
            self._producer.result()  # the producer failed at once: raise its error
        hub = self.hub
        for _ in range(int(WARMUP_WAIT_S / 0.01)):  # frames still in flight on loopback
            if hub.messages + sum(hub.errors.values()) >= self.publisher.sent:
                return
            await asyncio.sleep(0.01)

    async def __aexit__(self, *exc: object) -> None:
        if self._producer is not None:
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer
        await self._stack.aclose()


async def print_flags(agents: int, seed: int, warmup_s: float, db: str | None, config: Config,
                      as_json: bool) -> None:
    """`floorwatch demo --headless`: every flag transition of the live floor, one line each."""
    show = flag_json if as_json else flag_line
    async with DemoFloor(agents, seed, warmup_s, db=db, config=config) as floor:
        print(f"floorwatch demo: hub on {floor.url} ({agents} agents); Ctrl-C to stop",
              file=sys.stderr, flush=True)
        async with FeedClient(floor.url, detail="summary", token=floor.token) as client:
            async for msg in client.messages():
                if msg["type"] == "snapshot":
                    for flag in msg["flags"]:  # open flags of the calls in progress
                        print(show(Flag.from_message(flag)), flush=True)
                elif msg["type"] == "flag":
                    print(show(Flag.from_message(msg)), flush=True)
                elif msg["type"] == "status" and msg["state"] != "connected":
                    print(f"floorwatch demo: feed {msg['state']} {msg['detail']}",
                          file=sys.stderr, flush=True)
