"""`floorwatch analyze` and `floorwatch gateway`: the command lines that bring call audio
in (tui/cli.py assembles them with the others). Neither imports a UI library, and the
audio code (numpy, aiohttp) is imported only when one of them runs: every other
command, and every board a remote session starts, stays as light as before."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

from feeds.client.address import hub_url
from feeds.client.credentials import HubRefused, find_token
from feeds.client.publisher import publish
from feeds.core.config import Audio, ConfigError, load
from feeds.core.paths import data_dir
from feeds.core.recording import write_recording
from feeds.hub.auth import local_token
from tui.options import DEFAULT_HUB, add_token_option, positive_float, positive_int


def add_analyze(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "analyze", help="turn a recorded stereo call into protocol messages",
        description="Measure a recorded call (WAV: μ-law, A-law or 16-bit PCM at 8 or "
        "16 kHz, one party per channel) as floorwatch messages: each party's loudness and "
        "pitch every 0.25 s and the talk-overs. Write them to a recording (then: floorwatch "
        "replay OUT.jsonl --fast --headless) or publish them to a hub.")
    parser.add_argument("file", help="the call: a stereo .wav")
    parser.add_argument("--call", help="call id (default: the file's name without .wav)")
    parser.add_argument("--agent", default="unknown", help="agent id (default 'unknown')")
    parser.add_argument("--agent-name", help="the agent's display name")
    parser.add_argument("--team", default="default", help="team id (default 'default')")
    parser.add_argument("--queue", help="the queue the call came in on")
    parser.add_argument("--start", type=float, metavar="EPOCH",
                        help="event time of the first audio sample, Unix seconds "
                        "(default: now)")
    parser.add_argument("--channels", default="customer,agent", type=_channels,
                        help="who is on channel 1 and 2 (default customer,agent)")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="OUT",
                     help="recording to write: .jsonl, .msgpack (optionally .gz)")
    out.add_argument("--to", metavar="URL", help="publish to this hub instead")
    parser.add_argument("--speed", type=positive_float, metavar="X",
                        help="with --to: publish at X times real time (default: at once)")
    _add_config_option(parser)
    add_token_option(parser)
    parser.set_defaults(func=_run_analyze)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="TOML file whose [audio] section changes how audio is measured "
                        "(floorwatch config prints the defaults)")


def _audio_settings(args: argparse.Namespace) -> Audio:
    """The config's [audio] section, checked by building an analyzer with it."""
    from feeds.sources.analysis import CallAnalyzer

    audio = load(args.config).audio
    try:
        CallAnalyzer("check", 0.0, audio)
    except ValueError as exc:
        raise ConfigError(f"{args.config}: {exc}") from None
    return audio


def _channels(text: str) -> tuple[int, int]:
    from feeds.sources.recorded import parse_channels

    try:
        return parse_channels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--channels: ")) from exc


def _run_analyze(args: argparse.Namespace) -> int:
    from feeds.sources.codec import AudioError, read_wav
    from feeds.sources.recorded import call_messages

    prog = "floorwatch analyze"
    start = time.time() if args.start is None else args.start
    call = args.call or Path(args.file).name.removesuffix(".wav")
    try:
        url = hub_url(args.to, "/publish") if args.to else None
        settings = _audio_settings(args)
        audio = read_wav(args.file)
        messages = call_messages(audio, call, args.agent, args.team, round(start, 3),
                                 args.channels, settings, name=args.file,
                                 agent_name=args.agent_name, queue=args.queue)
        if url is None:
            count = write_recording(args.output, messages)
            target = args.output
        else:
            count, rejected = asyncio.run(publish(messages, url, args.speed, prog,
                                                  token=find_token(args.token), ca=args.ca))
            target = f"{url} ({rejected} rejected by the hub)"
    except (AudioError, ValueError, OSError, HubRefused) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"{prog}: {audio.seconds:.1f} s of {audio.encoding} at {audio.source_rate} Hz, "
          f"{count} messages -> {target}", file=sys.stderr)
    return 0


def add_gateway(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "gateway", help="take live call audio from Twilio or Genesys AudioHook to a hub",
        description="A server telephony platforms stream live calls to: Twilio Media "
        "Streams on /twilio, Genesys AudioHook on /audiohook, CTI events on POST /events. "
        "Each call's audio is measured as it arrives and published to the hub.")
    parser.add_argument("--to", default=DEFAULT_HUB, metavar="URL",
                        help=f"the hub (default {DEFAULT_HUB})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    add_token_option(parser)
    parser.add_argument("--key", help="the key platforms must present (default: "
                        "$FLOORWATCH_GATEWAY_KEY, else one made on first start and kept in "
                        f"{gateway_key_path()})")
    parser.add_argument("--twilio-auth-token", metavar="TOKEN",
                        help="also accept Twilio streams signed with this account's auth token")
    parser.add_argument("--public-url", metavar="URL",
                        help="the gateway's address as Twilio sees it, for signatures behind "
                        "a proxy (e.g. wss://gw.example.com)")
    parser.add_argument("--control-url", metavar="URL",
                        help="POST the hub's listen/whisper/barge requests here as JSON "
                        "(default: log them)")
    parser.add_argument("--max-streams", type=positive_int, default=1000, metavar="N")
    parser.add_argument("--stall-timeout", type=positive_float, default=10.0, metavar="S",
                        help="close a stream silent this long (default 10)")
    parser.add_argument("--buffer", type=positive_int, default=100_000, metavar="N",
                        help="messages held while the hub is away (default 100000)")
    _add_config_option(parser)
    parser.set_defaults(func=_run_gateway)


def gateway_key_path() -> Path:
    return data_dir() / "gateway.key"


def _run_gateway(args: argparse.Namespace) -> int:
    from feeds.sources.gateway import Gateway, GatewayOptions, serve

    prog = "floorwatch gateway"
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        url = hub_url(args.to, "/publish")
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.key or os.environ.get("FLOORWATCH_GATEWAY_KEY"):
        key, told = args.key or os.environ["FLOORWATCH_GATEWAY_KEY"], "the key given"
    else:
        key, told = local_token(gateway_key_path()), f"the key in {gateway_key_path()}"
    options = GatewayOptions(key=key, twilio_auth_token=args.twilio_auth_token,
                             public_url=args.public_url, control_url=args.control_url,
                             max_streams=args.max_streams, stall_s=args.stall_timeout,
                             buffer=args.buffer, audio=_audio_settings(args))
    gateway = Gateway(url, options, token=find_token(args.token), ca=args.ca)

    def ready(port: int) -> None:
        print(f"floorwatch gateway on http://{args.host}:{port} (/twilio, /audiohook, "
              f"POST /events) -> {url}; platforms present {told}", flush=True)

    try:
        asyncio.run(serve(gateway, args.host, args.port, ready))
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except HubRefused as exc:
        print(f"{prog}: error: {exc} (give a producer's token: --token or "
              f"$FLOORWATCH_TOKEN)", file=sys.stderr)
        return 1
    return 0
