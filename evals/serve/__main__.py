"""``python -m evals.serve``: serve a built-in policy over the openpi / RoboArena websocket protocol.

Exit codes: 0 after a clean shutdown (SIGINT / SIGTERM), 2 for usage errors (bad flag, missing checkpoint,
unavailable model), 1 if the server fails (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from evals.policies.baselines import ActionSpec, RandomPolicy, ZeroPolicy
from evals.serve.server import REPLY_FORMATS, PolicyServer

ACTION_SPACES = ("joint_position", "joint_velocity", "cartesian_velocity")


class UsageError(Exception):
    """A mistake the user can fix from the message alone (exit code 2)."""


def _zero(args: argparse.Namespace):
    return ZeroPolicy(ActionSpec.default(args.action_space))


def _random(args: argparse.Namespace):
    return RandomPolicy(ActionSpec.default(args.action_space), args.seed)


def _dreamzero(args: argparse.Namespace):
    from evals.policies import dreamzero

    try:
        return dreamzero.build_model(config_name=args.config, checkpoint=args.checkpoint, seed=args.seed)
    except dreamzero.DreamZeroUnavailableError as err:
        raise UsageError(str(err)) from err


POLICIES = {"zero": _zero, "random": _random, "dreamzero": _dreamzero}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m evals.serve",
        description="Serve a policy over the openpi/RoboArena websocket protocol (msgpack-numpy frames). "
        "Evaluate it with `python -m evals.run --policy remote:<host>:<port>`. Stop with Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--policy", required=True, choices=sorted(POLICIES), help="policy to serve")
    parser.add_argument(
        "--checkpoint", default=None, help="dreamzero only: checkpoint to load (default: random tiny weights)"
    )
    parser.add_argument("--config", default="tiny", help="dreamzero only: model config name (default: tiny)")
    parser.add_argument(
        "--action-space",
        default="joint_position",
        choices=ACTION_SPACES,
        help="zero/random only: the action space to act in, for a Panda (default: joint_position)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of random (every episode replays the same sequence) / of the dreamzero model (default: 0)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one (default: 8000)")
    parser.add_argument(
        "--reply",
        default="dict",
        choices=REPLY_FORMATS,
        help="reply shape: 'dict' = {'actions': (N, d), ...} as openpi; 'array' = bare (N, d) as RoboArena",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and args.policy != "dreamzero":
        parser.error("--checkpoint is only used by --policy dreamzero")
    if args.checkpoint is not None and not Path(args.checkpoint).exists():
        parser.error(f"--checkpoint {args.checkpoint} does not exist")
    if not 0 <= args.port < 65536:
        parser.error(f"--port must be in 0..65535, got {args.port}")
    return args


async def _serve(server: PolicyServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # graceful: stop accepting, close connections, exit 0
    await server.run(stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        policy = POLICIES[args.policy](args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(PolicyServer(policy, host=args.host, port=args.port, reply=args.reply)))
    except OSError as err:
        print(f"error: cannot serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
