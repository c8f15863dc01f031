"""Trajectory metrics of one episode, as pure functions of its step arrays (no simulator, no pandas).

Conventions: `joints` is (T, J) observed joint positions, `actions` is (T, A) with the arm's joint command
in the first J dims and the gripper command (0 open .. 1 closed) in dim J when A > J; `dt` is the control
period in seconds. Every function returns NaN (never raises) when the episode is too short to define it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

IDLE_SPEED = 1e-2  # rad/s: slower than this on every joint counts as standing still
GRIPPER_THRESHOLD = 0.5  # gripper command above this is "close"
NEAR_LIMIT = 0.05  # within 5% of the joint's range from either limit counts as "near the limit"

NAN = float("nan")


def jerk(joints: np.ndarray, dt: float) -> np.ndarray:
    """(T-3, J) joint-space jerk by third finite differences (exact for cubic trajectories)."""
    joints = np.asarray(joints, np.float64)
    if len(joints) < 4:
        return np.zeros((0, joints.shape[1] if joints.ndim == 2 else 0))
    return np.diff(joints, n=3, axis=0) / dt**3


def jerk_rms(joints: np.ndarray, dt: float) -> tuple[np.ndarray, float]:
    """Per-joint RMS jerk (J,) and the overall RMS over joints and time; NaN when T < 4."""
    j = jerk(joints, dt)
    n_joints = np.asarray(joints).shape[1]
    if not len(j):
        return np.full(n_joints, NAN), NAN
    return np.sqrt(np.mean(j**2, axis=0)), float(np.sqrt(np.mean(j**2)))


def log_dimensionless_jerk(joints: np.ndarray, dt: float) -> float:
    """Smoothness as the log dimensionless jerk (Balasubramanian et al. 2015) of the joint-space path:
    -ln(T^5 / v_peak^2 * integral |jerk|^2 dt). Higher (closer to 0) is smoother; NaN for a still arm."""
    joints = np.asarray(joints, np.float64)
    if len(joints) < 4:
        return NAN
    speed = np.linalg.norm(np.diff(joints, axis=0), axis=1) / dt
    v_peak = float(speed.max())
    if v_peak <= 0:
        return NAN
    duration = (len(joints) - 1) * dt
    integral = float(np.sum(jerk(joints, dt) ** 2)) * dt
    if integral <= 0:
        return NAN  # a constant-velocity (or constant-acceleration) path has no jerk at all
    return -math.log(duration**5 / v_peak**2 * integral)


@dataclass(frozen=True)
class ChunkJump:
    """Action step size at chunk boundaries vs inside chunks (L2 over the arm's joint commands)."""

    boundary: float  # mean |a_t - a_{t-1}| where a new chunk starts
    within: float  # median |a_t - a_{t-1}| inside a chunk
    ratio: float  # boundary / within; NaN when undefined
    note: str  # "" when defined, else why not


def chunk_boundary_jump(actions: np.ndarray, pos_in_chunk: np.ndarray, n_joints: int) -> ChunkJump:
    """The DreamZero/openpi chunking artefact: how much bigger the step into a new chunk is than a step
    inside one. Undefined for chunk length 1 (every step starts a chunk: there is no "inside")."""
    arm = np.asarray(actions, np.float64)[:, :n_joints]
    pos = np.asarray(pos_in_chunk)
    if len(arm) < 2:
        return ChunkJump(NAN, NAN, NAN, "fewer than 2 steps")
    steps = np.linalg.norm(np.diff(arm, axis=0), axis=1)
    at_boundary = pos[1:] == 0
    if at_boundary.all():
        return ChunkJump(float(steps.mean()), NAN, NAN, "chunk length 1: no within-chunk steps")
    within = float(np.median(steps[~at_boundary]))
    if not at_boundary.any():
        return ChunkJump(NAN, within, NAN, "a single chunk: no boundary")
    boundary = float(steps[at_boundary].mean())
    if within == 0:
        return ChunkJump(boundary, within, NAN, "constant actions inside chunks (within-chunk step 0)")
    return ChunkJump(boundary, within, boundary / within, "")


def gripper_switches(actions: np.ndarray, n_joints: int) -> int:
    """Open<->close switches of the gripper command (dim `n_joints`); 0 when the action has no gripper."""
    actions = np.asarray(actions, np.float64)
    if actions.ndim != 2 or actions.shape[1] <= n_joints or len(actions) < 2:
        return 0
    closed = actions[:, n_joints] > GRIPPER_THRESHOLD
    return int(np.count_nonzero(closed[1:] != closed[:-1]))


def limit_proximity(joints: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    """(smallest margin to a limit as a fraction of the joint's range, fraction of steps with some joint
    within NEAR_LIMIT of a limit); NaN when there are no steps or the limits do not match the joints."""
    joints = np.asarray(joints, np.float64)
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if not len(joints) or joints.shape[1] != len(low):
        return NAN, NAN
    span = np.where(high > low, high - low, np.inf)
    margin = np.minimum(joints - low, high - joints) / span  # (T, J); negative when past a limit
    closest = margin.min(axis=1)
    return float(closest.min()), float(np.mean(closest < NEAR_LIMIT))


def idle_seconds(joints: np.ndarray, dt: float) -> float:
    """Time during which no joint moved faster than IDLE_SPEED (the robot stood still)."""
    joints = np.asarray(joints, np.float64)
    if len(joints) < 2:
        return NAN
    speed = np.abs(np.diff(joints, axis=0)).max(axis=1) / dt
    return float(np.count_nonzero(speed < IDLE_SPEED) * dt)


def time_to_first_success(success: np.ndarray, dt: float) -> float:
    """Seconds until the first step whose result was success (step t ends at (t + 1) * dt); NaN if never."""
    hits = np.flatnonzero(np.asarray(success, bool))
    return float((hits[0] + 1) * dt) if len(hits) else NAN
