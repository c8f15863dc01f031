"""DiT step caching schedules (`inference.step_skipping`): which of the 16 steps run the DiT."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.inference.step_skipping import cosine_similarity, get_schedule, mask_schedule, static_mask


def _pair(sim: float) -> tuple[jax.Array, jax.Array]:
    """Two [1, 2] velocity predictions whose cosine similarity is ``sim``."""
    return jnp.array([[sim, np.sqrt(1 - sim**2)]], jnp.float32), jnp.array([[1.0, 0.0]], jnp.float32)


def simulate(name: str, similarities: list[float], num_dit_steps: int = 8) -> list[int]:
    """Steps that run the DiT when the last two predictions have cosine ``similarities[k]`` as seen at step k.

    Upstream decides at step k from the predictions of earlier passes; ``skip_after`` decides right after the
    pass at step k - 1 (counting passes as the sampler does, this one included), so it sees ``similarities[k]``.
    """
    n = len(similarities)
    skip_after = get_schedule(name, n, num_dit_steps)
    runs: list[int] = []
    step = 0
    while step < n:
        runs.append(step)
        v_last, v_prev = _pair(similarities[step + 1] if step + 1 < n else 0.0)
        step += 1 + int(skip_after(jnp.int32(step), jnp.int32(len(runs)), v_last, v_prev))
    return runs


def test_static_mask_matches_the_fixture(fixtures_dir):
    fixture = json.loads((fixtures_dir / "dreamzero_tiny/config.json").read_text())
    assert static_mask(16, 8).tolist() == fixture["policy_head_settings"]["dit_step_mask"]
    assert simulate("off", [0.99] * 16) == list(range(16))


# The steps of 16 that run the DiT per NUM_DIT_STEPS, read off upstream's masks in WANPolicyHead.__init__
# (8 also in the fixture README).
UPSTREAM_RUNS = {
    5: [0, 1, 2, 7, 12],
    6: [0, 1, 5, 10, 14, 15],
    7: [0, 1, 2, 6, 10, 14, 15],
    8: [0, 1, 2, 6, 10, 13, 14, 15],
}


@pytest.mark.parametrize("num_dit_steps", sorted(UPSTREAM_RUNS))
def test_static_schedule_runs_upstreams_exact_steps(num_dit_steps):
    runs = UPSTREAM_RUNS[num_dit_steps]
    assert np.flatnonzero(static_mask(16, num_dit_steps)).tolist() == runs
    # the sampler's schedule (skip counts after each pass) runs the same steps, whatever the similarities
    assert simulate("static", [0.99] * 16, num_dit_steps) == runs


@pytest.mark.parametrize(("num_steps", "num_dit_steps"), [(16, 12), (16, 4), (12, 8)])
def test_static_schedule_without_an_upstream_mask_runs_every_step(num_steps, num_dit_steps):
    assert static_mask(num_steps, num_dit_steps).all()
    assert simulate("static", [0.0] * num_steps, num_dit_steps) == list(range(num_steps))


@pytest.mark.parametrize(
    ("similarities", "runs"),
    [
        ([0.99] * 16, [0, 1, 6, 11]),  # > 0.95: skip 4 steps, then the step after always runs
        ([0.94] * 16, [0, 1, 4, 7, 10, 13]),  # > 0.93: skip 2 steps
        ([0.95] * 16, [0, 1, 4, 7, 10, 13]),  # strictly greater: 0.95 falls in the 0.93 band
        ([0.5] * 16, list(range(16))),  # dissimilar predictions: every step runs
        ([0, 0, 0.5, 0.96, 0, 0, 0, 0, 0.94, 0, 0, 0.5, 0.5, 0.99, 0.99, 0.99], [0, 1, 2, 7, 10, 11, 12]),
    ],
)
def test_dynamic_schedule_matches_upstream_countdown(similarities, runs):
    assert simulate("dynamic", similarities) == runs


def test_dynamic_schedule_always_runs_the_first_two_steps():
    assert simulate("dynamic", [1.0] * 16)[:2] == [0, 1]


def test_cosine_similarity_is_per_sample_then_batch_mean():
    a = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    b = jnp.array([[1.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(cosine_similarity(a, b), 0.5)


def test_unknown_schedule_names_the_valid_ones():
    with pytest.raises(ValueError, match="dynamic"):
        get_schedule("sometimes", 16, 8)
    with pytest.raises(ValueError, match="first"):
        mask_schedule(np.array([False, True]))
