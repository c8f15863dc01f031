"""The output tables' columns and dtypes, defined once: the recorder writes them, tests and docs read them.

`TIMING_COLUMNS` are the columns that legitimately differ between two runs of the same suite, seeds and
policy (wall-clock measurements); everything else must be bit-identical (see `docs/runner.md`).
"""

from __future__ import annotations

import pyarrow as pa

# episodes.parquet: fixed columns in order. Variation columns `var.<name>` (one per key of
# info["variations"]) are appended after `tags`, sorted by name, with dtype float64 or string.
EPISODE_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("task", pa.string()),
        ("embodiment", pa.string()),
        ("instruction", pa.string()),
        ("seed", pa.int64()),
        ("env_seed", pa.int64()),
        ("policy", pa.string()),
        ("success", pa.bool_()),
        ("success_any", pa.bool_()),
        ("final_progress", pa.float64()),
        ("max_progress", pa.float64()),
        ("steps", pa.int64()),
        ("sim_seconds", pa.float64()),
        ("wall_seconds", pa.float64()),
        ("policy_calls", pa.int64()),
        ("policy_latency_p50_ms", pa.float64()),
        ("policy_latency_p95_ms", pa.float64()),
        ("policy_latency_max_ms", pa.float64()),
        ("env_step_ms", pa.float64()),
        ("render_ms", pa.float64()),
        ("termination_reason", pa.string()),
        ("error", pa.string()),
        ("error_type", pa.string()),
        # Tries the episode took: 2 when its worker process died and it was retried on another worker.
        ("attempts", pa.int64()),
        ("video", pa.string()),
        ("tags", pa.list_(pa.string())),
    ]
)

# steps.parquet: one row per control step. joint_position / gripper_position are the observed state the
# action was chosen from; reward / progress / success are what env.step returned for that action.
STEP_SCHEMA = pa.schema(
    [
        ("case_id", pa.string()),
        ("seed", pa.int64()),
        ("step", pa.int64()),
        ("chunk_index", pa.int64()),
        ("pos_in_chunk", pa.int64()),
        ("action", pa.list_(pa.float32())),
        ("joint_position", pa.list_(pa.float32())),
        ("gripper_position", pa.float32()),
        ("reward", pa.float64()),
        ("progress", pa.float64()),
        ("success", pa.bool_()),
        ("policy_called", pa.bool_()),
        ("policy_latency_ms", pa.float64()),
        # The policy's per-stage timing ({stage: ms}) as a JSON object string; null when no call happened.
        ("policy_timing", pa.string()),
    ]
)

VARIATION_PREFIX = "var."

# Wall-clock columns: excluded from determinism comparisons.
EPISODE_TIMING_COLUMNS = (
    "wall_seconds",
    "policy_latency_p50_ms",
    "policy_latency_p95_ms",
    "policy_latency_max_ms",
    "env_step_ms",
    "render_ms",
)
STEP_TIMING_COLUMNS = ("policy_latency_ms", "policy_timing")
TIMING_COLUMNS = frozenset(EPISODE_TIMING_COLUMNS + STEP_TIMING_COLUMNS)

TERMINATION_REASONS = ("success", "horizon", "error")
