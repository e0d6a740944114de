"""Option types and defaults the command line's modules share."""

from __future__ import annotations

import argparse

DEFAULT_HUB = "ws://127.0.0.1:8765"


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def add_token_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", metavar="TOKEN",
                        help="the hub's token for you (default: $FLOORWATCH_TOKEN, else the "
                        "token a hub on this machine wrote for this user)")
    parser.add_argument("--ca", metavar="FILE",
                        help="for a wss:// hub: trust the certificates in this PEM file "
                        "(default: $FLOORWATCH_CA, else the system's)")
