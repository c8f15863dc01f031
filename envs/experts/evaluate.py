"""Success rate of the scripted experts (or the random / zero baselines) per task x embodiment.

    python -m envs.experts.evaluate --seeds 50 --markdown            # the table in docs/tasks.md
    python -m envs.experts.evaluate --tasks OpenDrawer --embodiments iiwa --seeds 5
    python -m envs.experts.evaluate --agent random --seeds 10 --markdown

Episodes use seeds 0..N-1, the default variation, cameras off, the task's default horizon and the chosen action
space (default joint_position, DROID's). An episode succeeds if the task reports success at any step (it stops
there). `--first-seed` splits a long run into seed ranges whose `--jsonl` cells `--from-jsonl` merges
(episodes are deterministic per seed). Each finished task x embodiment cell is printed (and appended to `--jsonl` if given) as soon as it is
done, so a long run can be stopped and still leave usable results; `--from-jsonl` re-renders such a file.

Exit codes: 0 ok, 2 usage error (unknown task/embodiment/agent/action space, bad numbers).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import envs
from envs.experts import RandomAgent, ZeroAgent, make_expert

AGENTS = {
    "expert": lambda env, seed: make_expert(env),
    "random": lambda env, seed: RandomAgent(env, seed),
    "zero": lambda env, seed: ZeroAgent(env),
}


def rollout(env, agent, seed: int) -> tuple[bool, int, dict]:
    """One episode: `env.reset(seed)`, `agent.reset()`, then `agent.act(obs)` until success or the horizon.

    Returns (success at any step, steps taken, the last step's info).
    """
    obs, info = env.reset(seed=seed)
    agent.reset()
    success, steps = False, 0
    for _ in range(env.unwrapped.horizon):
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        steps += 1
        success |= bool(info["success"])
        if terminated or truncated:
            break
    return success, steps, info


def run_cell(
    task: str,
    embodiment: str,
    seeds: int,
    agent: str,
    action_space: str,
    horizon: int | None = None,
    first_seed: int = 0,
) -> dict:
    """Run episodes with seeds first_seed..first_seed+seeds-1 of one task x embodiment; returns the cell's counts
    and the failed seeds. `horizon` overrides the task's default episode length (tests use it to stay short).
    """
    env = envs.make(task, embodiment, cameras=(), action_space=action_space, horizon=horizon)
    start = time.perf_counter()
    successes, failed, steps = 0, [], 0
    try:
        for seed in range(first_seed, first_seed + seeds):
            success, n, _ = rollout(env, AGENTS[agent](env, seed), seed)
            steps += n
            successes += success
            if not success:
                failed.append(seed)
    finally:
        env.close()
    return {
        "task": task,
        "embodiment": embodiment,
        "agent": agent,
        "action_space": action_space,
        "seeds": seeds,
        "first_seed": first_seed,
        "successes": successes,
        "rate": successes / seeds,
        "failed_seeds": failed,
        "steps": steps,
        "seconds": round(time.perf_counter() - start, 1),
    }


def merge_cells(cells: list[dict]) -> list[dict]:
    """Combine cells of the same task x embodiment x agent x action space run over disjoint seed ranges.

    Episodes are deterministic per seed, so seeds 0..19 plus 20..49 give exactly the `--seeds 50` result.
    """
    merged: dict[tuple, dict] = {}
    for c in cells:
        key = (c["task"], c["embodiment"], c["agent"], c["action_space"])
        if key not in merged:
            merged[key] = {**c, "failed_seeds": list(c["failed_seeds"]), "ranges": [c.get("first_seed", 0)]}
            continue
        m = merged[key]
        if c.get("first_seed", 0) in m["ranges"]:
            raise ValueError(f"duplicate seed range starting at {c.get('first_seed', 0)} for {key}")
        m["ranges"].append(c.get("first_seed", 0))
        m["seeds"] += c["seeds"]
        m["successes"] += c["successes"]
        m["failed_seeds"] += c["failed_seeds"]
        m["steps"] += c["steps"]
        m["seconds"] += c["seconds"]
    for m in merged.values():
        m["rate"] = m["successes"] / m["seeds"]
        del m["ranges"]
    return list(merged.values())


def markdown_table(cells: list[dict]) -> str:
    """Tasks as rows, embodiments as columns, `rate (successes/seeds)` in each cell."""
    tasks = list(dict.fromkeys(c["task"] for c in cells))
    embodiments = list(dict.fromkeys(c["embodiment"] for c in cells))
    by_key = {(c["task"], c["embodiment"]): c for c in cells}
    lines = ["| task | " + " | ".join(embodiments) + " |", "|---|" + "---|" * len(embodiments)]
    for t in tasks:
        row = []
        for e in embodiments:
            c = by_key.get((t, e))
            row.append("—" if c is None else f"{100 * c['rate']:.0f}% ({c['successes']}/{c['seeds']})")
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m envs.experts.evaluate",
        description="Success rate of scripted experts / baselines per task x embodiment (cameras off).",
    )
    p.add_argument("--seeds", type=int, default=50, help="episodes per cell, seeds 0..N-1 (default 50)")
    p.add_argument("--tasks", default="", help="comma-separated tasks (default: all registered tasks)")
    p.add_argument("--embodiments", default="", help="comma-separated embodiments (default: all)")
    p.add_argument("--first-seed", type=int, default=0, help="first seed (default 0); to split a long run")
    p.add_argument("--agent", default="expert", help=f"one of {sorted(AGENTS)} (default expert)")
    p.add_argument("--action-space", default="joint_position", help="action space (default joint_position)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes, one cell each (default 1)")
    p.add_argument("--jsonl", default="", help="append one JSON line per finished cell to this file")
    p.add_argument("--markdown", action="store_true", help="print a markdown table at the end")
    p.add_argument(
        "--from-jsonl",
        default="",
        help="only render the cells stored in this file (no episodes); runs over disjoint seed ranges are merged",
    )
    return p


def _usage_error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.from_jsonl:
        try:
            with open(args.from_jsonl) as f:
                cells = [json.loads(line) for line in f if line.strip()]
        except OSError as e:
            return _usage_error(f"cannot read {args.from_jsonl}: {e.strerror}")
        try:
            print(markdown_table(merge_cells(cells)))
        except (KeyError, ValueError) as e:
            return _usage_error(f"{args.from_jsonl}: {e}")
        return 0
    tasks = [t for t in args.tasks.split(",") if t] or envs.list_tasks()
    embodiments = [e for e in args.embodiments.split(",") if e] or envs.list_embodiments()
    if bad := [t for t in tasks if t not in envs.list_tasks()]:
        return _usage_error(f"unknown task(s) {bad}; valid tasks: {envs.list_tasks()}")
    if bad := [e for e in embodiments if e not in envs.list_embodiments()]:
        return _usage_error(f"unknown embodiment(s) {bad}; valid: {envs.list_embodiments()}")
    if args.agent not in AGENTS:
        return _usage_error(f"unknown agent {args.agent!r}; valid agents: {sorted(AGENTS)}")
    if args.action_space not in envs.list_action_spaces():
        return _usage_error(f"unknown action space {args.action_space!r}; valid: {envs.list_action_spaces()}")
    if args.seeds < 1 or args.workers < 1 or args.first_seed < 0:
        return _usage_error("--seeds and --workers must be >= 1 and --first-seed >= 0")
    jobs = [
        (t, e, args.seeds, args.agent, args.action_space, None, args.first_seed)
        for t in tasks
        for e in embodiments
    ]
    cells = []
    with ProcessPoolExecutor(args.workers) if args.workers > 1 else _Inline() as pool:
        for cell in pool.map(_run_job, jobs):
            cells.append(cell)
            print(
                f"{cell['task']:<22}{cell['embodiment']:<10}{cell['successes']:>3}/{cell['seeds']:<3}"
                f" seeds {cell['first_seed']}..{cell['first_seed'] + cell['seeds'] - 1}"
                f" failed={cell['failed_seeds']} ({cell['seconds']} s)",
                flush=True,
            )
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(cell) + "\n")
    if args.markdown:
        print(markdown_table(cells))
    return 0


def _run_job(job: tuple) -> dict:
    return run_cell(*job)


class _Inline:
    """Stand-in for a process pool that runs jobs in this process, lazily and in order."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        return (fn(x) for x in items)


if __name__ == "__main__":
    sys.exit(main())
