"""``python -m evals.loadtest``: requests/s and latency of a local policy server at several concurrencies.

For each ``--sessions`` level N, N clients (one connection and one session each, DROID observations at the
server's advertised resolution) send one warm-up request each (the session start and any compilation, not
counted), then requests back to back for ``--seconds``; the table gives requests/s, the
client-side p50/p99 latency and, from the server's reply timing (``evals.serve``), the mean batch size and the
median queue wait and model time. Loopback only and bounded (levels <= 64 sessions, <= 120 s each): it is a
measurement tool, not a load generator for other hosts.

Exit codes: 0 after printing the table, 2 for usage errors, 1 if the server cannot be reached or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
import uuid
from typing import Any

import numpy as np
import websockets
import websockets.asyncio.client

from evals.contract import wire

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_SESSIONS, MAX_SECONDS = 64, 120.0


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """One concurrency level's measurements."""

    sessions: int
    requests: int
    seconds: float
    latencies_ms: tuple[float, ...]
    batch_sizes: tuple[float, ...]
    queue_ms: tuple[float, ...]
    model_ms: tuple[float, ...]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def row(self) -> str:
        def pct(values: tuple[float, ...], q: float) -> float:
            return float(np.percentile(values, q)) if values else float("nan")

        batch = float(np.mean(self.batch_sizes)) if self.batch_sizes else float("nan")
        return (
            f"{self.sessions:>8d} {self.requests:>9d} {self.rate:>8.1f} {pct(self.latencies_ms, 50):>8.2f} "
            f"{pct(self.latencies_ms, 99):>8.2f} {batch:>10.2f} {pct(self.queue_ms, 50):>9.2f} "
            f"{pct(self.model_ms, 50):>9.2f}"
        )


HEADER = (
    f"{'sessions':>8} {'requests':>9} {'req/s':>8} {'p50_ms':>8} {'p99_ms':>8} {'mean_batch':>10} "
    f"{'queue_ms':>9} {'model_ms':>9}"
)


def observation(config: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """A DROID observation in the layout a server's ``PolicyServerConfig`` asks for."""
    h, w = config.get("image_resolution") or wire.DROID_IMAGE_SIZE
    cameras = [f"exterior_image_{i}_left" for i in range(int(config.get("n_external_cameras", 2)))]
    cameras += ["wrist_image_left"] if config.get("needs_wrist_camera", True) else []
    obs: dict[str, Any] = {c: rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for c in cameras}
    obs["joint_position"] = rng.uniform(-1, 1, 7).astype(np.float32)
    obs["gripper_position"] = np.zeros(1, np.float32)
    obs["cartesian_position"] = np.zeros(6, np.float32)
    return obs


async def _client(
    uri: str, index: int, seconds: float, barrier: asyncio.Barrier, sink: dict[str, list[float]]
) -> int:
    """One session: a warm-up request, then requests for ``seconds`` after every client warmed up."""
    async with websockets.asyncio.client.connect(
        uri, compression=None, max_size=None, proxy=None, additional_headers={wire.EVALS_HEADER: "1"}
    ) as ws:
        config = wire.unpackb(await ws.recv())
        obs = observation(config, np.random.default_rng(index))
        frame = wire.packb(
            {**wire.obs_to_wire(obs), "prompt": "pick up the cube", "session_id": uuid.uuid4().hex}
        )
        await ws.send(frame)  # warm-up, not counted: the session's start (and any compilation)
        if isinstance(await ws.recv(), str):
            raise RuntimeError("server error on the warm-up request")
        await barrier.wait()
        deadline = sink.setdefault("start", [time.perf_counter()])[0] + seconds
        done = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await ws.send(frame)
            reply = await ws.recv()
            if isinstance(reply, str):
                raise RuntimeError(f"server error:\n{reply}")
            sink["latency"].append((time.perf_counter() - start) * 1e3)
            decoded = wire.unpackb(reply)
            timing = decoded.get("server_timing", {}) if isinstance(decoded, dict) else {}
            for key, name in (("batch_size", "batch"), ("queue_ms", "queue"), ("model_ms", "model")):
                if key in timing:
                    sink[name].append(float(timing[key]))
            done += 1
        return done


async def measure(uri: str, sessions: int, seconds: float) -> LoadResult:
    """Run ``sessions`` concurrent clients against ``uri`` for ``seconds``."""
    sink: dict[str, list[float]] = {"latency": [], "batch": [], "queue": [], "model": []}
    barrier = asyncio.Barrier(sessions)
    counts = await asyncio.gather(*(_client(uri, i, seconds, barrier, sink) for i in range(sessions)))
    elapsed = time.perf_counter() - sink["start"][0]
    return LoadResult(
        sessions,
        sum(counts),
        elapsed,
        tuple(sink["latency"]),
        tuple(sink["batch"]),
        tuple(sink["queue"]),
        tuple(sink["model"]),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals.loadtest",
        description="Requests/s and p50/p99 latency of a policy server on this machine, per concurrency.",
    )
    parser.add_argument(
        "--port", type=int, required=True, help="port of the server (e.g. python -m evals.serve)"
    )
    parser.add_argument("--host", default="127.0.0.1", help=f"loopback address only: {', '.join(LOOPBACK)}")
    parser.add_argument(
        "--sessions", default="1,4,16", help=f"comma-separated concurrencies (each <= {MAX_SESSIONS})"
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help=f"duration of each level (<= {MAX_SECONDS:g}, default 5)"
    )
    return parser


def parse_levels(text: str) -> list[int]:
    """``"1,4,16"`` -> ``[1, 4, 16]``; ValueError unless each is in 1..MAX_SESSIONS."""
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or any(not 1 <= n <= MAX_SESSIONS for n in levels):
        raise ValueError(f"--sessions needs integers in 1..{MAX_SESSIONS}, got {text!r}")
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        levels = parse_levels(args.sessions)
    except ValueError as err:
        parser.error(str(err).splitlines()[0])
    if args.host not in LOOPBACK:
        parser.error(f"--host must be a loopback address ({', '.join(LOOPBACK)}), got {args.host!r}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS:g}], got {args.seconds}")
    host = f"[{args.host}]" if ":" in args.host else args.host
    uri = f"ws://{host}:{args.port}"
    print(
        f"loadtest {uri}: {args.seconds:g} s per level; latency is client-side, queue/model p50 server-side"
    )
    print(HEADER)
    for sessions in levels:
        try:
            result = asyncio.run(measure(uri, sessions, args.seconds))
        except (OSError, websockets.WebSocketException, RuntimeError) as err:
            print(f"error: {uri} at {sessions} sessions: {str(err).splitlines()[0]}", file=sys.stderr)
            return 1
        print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
