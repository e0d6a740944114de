"""`floorwatch hub` as a service: the store, this machine's admin token, signals.

The hub itself (feeds.hub.server) knows nothing of files or processes; this is what a
long-running `floorwatch hub` adds around it.
"""

from __future__ import annotations

import asyncio
import gc
import getpass
import signal
import ssl
import sys
from functools import partial

from feeds.core.config import Config
from feeds.core.engine import GC_THRESHOLDS
from feeds.core.paths import local_token_path
from feeds.hub.auth import local_token, put_user
from feeds.hub.server import Hub, running_hub, server_url
from feeds.hub.store import Store, default_path


async def run_hub(host: str, port: int, db: str | None, config: Config, *, auth: bool = True,
                  origins: frozenset[str] = frozenset(), max_per_address: int = 64,
                  tls: tuple[str, str] | None = None) -> None:
    """`floorwatch hub`: serve until Ctrl-C or SIGTERM; the store is flushed and closed.

    With authentication (the default) this machine's user gets an admin token in a file
    only they can read (`local_token_path`), which the other commands here use."""
    store = Store(db or default_path())
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        hub = Hub(config, store, auth=auth, origins=origins, max_per_address=max_per_address)
        if auth:
            where = local_token_path()
            store.run_sync(partial(put_user, name=f"{getpass.getuser()}@local", role="admin",
                                   teams=None, token=local_token(where)))
        context = server_tls(*tls) if tls is not None else None
        async with running_hub(hub, host, port, tls=context) as server:
            print(f"floorwatch hub on {server_url(server, tls=context is not None)}  "
                  f"(publish: /publish, subscribe: /subscribe, health: /healthz; "
                  f"db {store.path})", flush=True)
            print(f"floorwatch hub: tokens required; this machine's admin token is in {where}"
                  if auth else "floorwatch hub: WITHOUT authentication (--insecure-local)",
                  file=sys.stderr, flush=True)
            # Ctrl-C and SIGTERM end the same way: the block exits, connections close,
            # the store commits; no KeyboardInterrupt lands in the middle of a handler.
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        store.close()


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    """A server's TLS (wss://, https://): its PEM certificate chain and private key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
