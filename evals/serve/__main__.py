"""``python -m evals.serve``: serve a registry policy over the openpi / RoboArena websocket protocol.

Policies come from the same registry as ``python -m evals.run --policy`` (``evals.policies.registry``); those
that need no simulator env are servable (``zero``, ``random``, ``dreamzero``), built for ``--action-space``
on a Panda. Policy settings are ``--policy-opt KEY=VALUE`` (e.g. ``config=tiny``, ``seed=3``, ``dtype=bfloat16``,
``mesh=data:1,model:8``). Each client
session gets its own policy state; concurrent requests are batched (``--batch-window-ms``). Chunks hold at least
the 8 actions DROID clients execute: baselines return ``--chunk-length`` actions; a model with shorter chunks is
refused unless ``--pad-chunks``.
``--distributed`` serves a model sharded over a multi-host slice (:mod:`evals.serve.lockstep`).

Exit codes: 0 after a clean shutdown (SIGINT / SIGTERM), 2 for usage errors (bad flag, unknown or unservable
policy, bad option, missing checkpoint, unavailable model), 1 if the server fails (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from evals.contract import wire
from evals.contract.policy import PolicyMetadata
from evals.policies.baselines import ActionSpec
from evals.policies.options import PolicyOptionError, parse_policy_opts
from evals.policies.registry import (
    PolicySpecError,
    build_served_sessions,
    parse,
    servable_names,
    served_seed,
)
from evals.serve import lockstep
from evals.serve.server import REPLY_FORMATS, PolicyServer, ServeOptions

ACTION_SPACES = ("joint_position", "joint_velocity", "cartesian_velocity")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals.serve",
        description="Serve a policy over the openpi/RoboArena websocket protocol (msgpack-numpy frames). "
        "Evaluate it with `python -m evals.run --policy remote:<host>:<port>`. Stop with Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--policy", required=True, help=f"policy to serve: {' | '.join(servable_names())}")
    parser.add_argument(
        "--checkpoint", default=None, help="dreamzero only: checkpoint to load (default: random tiny weights)"
    )
    parser.add_argument(
        "--policy-opt",
        action="append",
        metavar="KEY=VALUE",
        help="policy option, repeatable: dreamzero config=<name> (default tiny), seed=<int> (model seed, "
        "default 0), dtype=float32|bfloat16, mesh=data:D,model:M; random seed=<int> (every session replays "
        "the same sequence, default 0)",
    )
    parser.add_argument(
        "--action-space",
        default="joint_position",
        choices=ACTION_SPACES,
        help="the action space of the robot (a Panda) the policy drives (default: joint_position)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port; 0 picks a free one (default: 8000)")
    parser.add_argument(
        "--reply",
        default="auto",
        choices=REPLY_FORMATS,
        help="reply shape: 'dict' = {'actions': (N, d), ...} as openpi; 'array' = bare (N, d) as RoboArena; "
        "'auto' (default) = arrays to clients that send 'endpoint' (RoboArena/DreamZero), dicts to the others",
    )
    parser.add_argument(
        "--chunk-length",
        type=int,
        default=24,
        help="actions per chunk of the baselines (zero, random), and what --pad-chunks pads to "
        "(default 24, as DreamZero-DROID)",
    )
    parser.add_argument(
        "--pad-chunks",
        action="store_true",
        help=f"pad chunks shorter than {wire.DROID_OPEN_LOOP_HORIZON} (the actions DROID clients execute per "
        "chunk) with their last action up to --chunk-length; without it such a policy is refused",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=32,
        help="concurrent sessions held (default 32); more evict the LRU",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=600.0,
        help="seconds after which an unused session is evicted (default 600)",
    )
    parser.add_argument(
        "--batch-window-ms",
        type=float,
        default=5.0,
        help="how long a batch waits for concurrent requests of other sessions (default 5 ms)",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="multi-host slice: call jax.distributed.initialize(); run this same command on every host; "
        "host 0 serves clients, the others run each model step in lockstep with it (see evals/serve/lockstep.py)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    return parser


async def _serve(server: PolicyServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)  # graceful: stop accepting, close connections, exit 0
    await server.run(stop)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port must be in 0..65535, got {args.port}")
    if args.chunk_length < 1 or args.max_sessions < 1:
        parser.error("--chunk-length and --max-sessions must be >= 1")
    if args.pad_chunks and args.chunk_length < wire.DROID_OPEN_LOOP_HORIZON:
        parser.error(f"--pad-chunks needs --chunk-length >= {wire.DROID_OPEN_LOOP_HORIZON}")
    if not args.idle_timeout > 0 or not args.batch_window_ms >= 0:
        parser.error("--idle-timeout must be > 0 and --batch-window-ms >= 0")
    return args


def check_chunks(meta: PolicyMetadata, pad: bool) -> None:
    """Refuse a policy whose chunks are too short for DROID clients, unless they are to be padded."""
    chunk = meta.chunk_length
    if not pad and chunk is not None and chunk < wire.DROID_OPEN_LOOP_HORIZON:
        raise PolicySpecError(
            f"policy {meta.name!r} predicts {chunk} actions per chunk, fewer than the "
            f"{wire.DROID_OPEN_LOOP_HORIZON} DROID clients execute; serve a model with longer chunks, "
            "or pass --pad-chunks to repeat its last action up to --chunk-length"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        choice = parse(args.policy, args.checkpoint, parse_policy_opts(args.policy_opt))
        if args.distributed and choice.name != "dreamzero":
            raise PolicySpecError(
                "--distributed serves --policy dreamzero only (other policies need no slice)"
            )
        rank = lockstep.init_distributed() if args.distributed else 0
        spec = ActionSpec.default(args.action_space)
        sessions = build_served_sessions(choice, spec, args.max_sessions, args.chunk_length)
        check_chunks(sessions.metadata, args.pad_chunks)
    except (PolicySpecError, PolicyOptionError) as err:
        print(f"error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2
    if rank != 0:
        lockstep.follow(sessions)  # until host 0 shuts down
        return 0
    served = lockstep.LockstepLeader(sessions) if args.distributed else sessions
    options = ServeOptions(
        host=args.host,
        port=args.port,
        reply=args.reply,
        batch_window_ms=args.batch_window_ms,
        idle_timeout_s=args.idle_timeout,
        seed=served_seed(choice),
        pad_chunks_to=args.chunk_length if args.pad_chunks else None,
        action_space=args.action_space,
    )
    try:
        asyncio.run(_serve(PolicyServer(served, options)))
    except OSError as err:
        print(f"error: cannot serve on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    finally:
        if args.distributed:
            served.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
