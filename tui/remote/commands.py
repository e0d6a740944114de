"""`floorwatch ssh` and `floorwatch web`: the command lines of the ways to reach the board
from elsewhere (tui/cli.py assembles them with the others). Each imports its server
library only when run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from pathlib import Path

from feeds.client.address import hub_url
from feeds.core.paths import data_dir
from feeds.hub.store import Store, default_path
from tui.options import DEFAULT_HUB, positive_float, positive_int


def _add_common(parser: argparse.ArgumentParser, port: int) -> None:
    parser.add_argument("--hub", default=DEFAULT_HUB, help=f"the hub (default {DEFAULT_HUB})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--db", help=f"the hub's SQLite file (default {default_path()})")
    parser.add_argument("--max-sessions", type=positive_int, default=50, metavar="N")
    parser.add_argument("--ca", metavar="FILE",
                        help="for a wss:// hub: trust the certificates in this PEM file (the "
                        "boards get it as $FLOORWATCH_CA; default: the system's)")


def _hub(args: argparse.Namespace) -> str | None:
    """The hub's address; with --ca, the file every board will trust it by."""
    try:
        url = hub_url(args.hub, "/subscribe")
        if args.ca:
            ca = Path(args.ca).resolve(strict=True)
            os.environ["FLOORWATCH_CA"] = str(ca)  # the boards are children: they inherit it
        return url
    except (ValueError, OSError) as exc:
        print(f"floorwatch {args.command}: error: {exc}", file=sys.stderr)
        return None


def _serve(args: argparse.Namespace, store: Store, run: object) -> int:
    """Run a server until Ctrl-C; an address in use or a bad certificate is one line."""
    try:
        asyncio.run(run)  # type: ignore[arg-type]
    except (OSError, ssl.SSLError) as exc:
        print(f"floorwatch {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
    return 0


def add_ssh(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "ssh", help="serve the board over SSH to users with keys (floorwatch user add-key)",
        description="An SSH server whose every session is the board of the hub at --hub, "
        "as the user whose key logged in: their teams, their role. Keys only; a terminal "
        "is required. The host key is made on first start and kept.")
    _add_common(parser, 2222)
    parser.add_argument("--host-key", metavar="FILE",
                        help="the server's private host key (default: "
                        f"{data_dir() / 'ssh_host_ed25519_key'}, made if missing)")
    parser.add_argument("--login-timeout", type=positive_float, default=30.0, metavar="S")
    parser.add_argument("--idle-timeout", type=positive_float, default=12 * 3600.0,
                        metavar="S", help="end a session with no key pressed for S s "
                        "(default 12 h: watching without typing is normal)")
    parser.add_argument("--max-per-minute", type=positive_int, default=10, metavar="N",
                        help="new connections one address may make a minute (default 10)")
    parser.set_defaults(func=_run_ssh)


def _run_ssh(args: argparse.Namespace) -> int:
    from tui.remote.ssh import Limits, Server, serve

    hub = _hub(args)
    if hub is None:
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = Store(args.db or default_path())
    limits = Limits(args.login_timeout, args.idle_timeout, args.max_sessions,
                    args.max_per_minute)
    return _serve(args, store, serve(Server(hub, store, limits), args.host, args.port,
                                     Path(args.host_key) if args.host_key else None))


def add_web(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "web", help="serve the board in a browser to floorwatch users (textual-serve)",
        description="A web server whose every page is the board of the hub at --hub, as "
        "the user who signed in (with their token: /?token=TOKEN or the sign-in form): "
        "their teams, their role. One process per page, ended with it.")
    _add_common(parser, 8080)
    parser.add_argument("--tls-cert", metavar="FILE",
                        help="serve https:// with this PEM certificate (chain); needs --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    parser.set_defaults(func=_run_web)


def _run_web(args: argparse.Namespace) -> int:
    from feeds.hub.service import server_tls
    from tui.remote.web import Limits, WebBoard, serve

    hub = _hub(args)
    if hub is None:
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("floorwatch web: error: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = Store(args.db or default_path())
    try:
        tls = server_tls(args.tls_cert, args.tls_key) if args.tls_cert else None
    except (OSError, ssl.SSLError) as exc:
        store.close()
        print(f"floorwatch web: error: TLS: {exc}", file=sys.stderr)
        return 1
    board = WebBoard(hub, store, Limits(max_sessions=args.max_sessions), secure=tls is not None)
    return _serve(args, store, serve(board, args.host, args.port, tls))
