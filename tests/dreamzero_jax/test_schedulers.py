"""Schedulers: parity with the upstream fixtures, exactness on straight flows, jit/scan behaviour."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.parity.checks_schedulers import checks
from dreamzero_jax.schedulers import FlowMatchScheduler, FlowUniPCMultistepScheduler


@pytest.mark.parametrize("fixture_file", ["scheduler_unipc.npz", "scheduler_flowmatch.npz"])
def test_scheduler_fixtures_pass(fixtures_dir, tmp_path, fixture_file):
    (tmp_path / fixture_file).symlink_to(fixtures_dir / "dreamzero_tiny" / fixture_file)
    results = list(checks(tmp_path))
    assert len(results) >= 6
    failed = [r.line() for r in results if not r.passed]
    assert not failed, failed


def test_chunk_step_sequences_of_forward_infer_pass(fixtures_dir):
    results = [r for r in checks(fixtures_dir / "dreamzero_tiny") if r.name.startswith("forward_infer.")]
    assert len(results) == 2 * 2 * 4  # 2 chunks x (video, action) x (timestep, sigma, order, prev_sample)
    assert all(r.passed for r in results), [r.line() for r in results if not r.passed]


def test_unipc_tables_match_upstream_schedule():
    s = FlowUniPCMultistepScheduler(16, 5.0)
    assert np.asarray(s.timesteps)[[0, 6, 15]].tolist() == [999, 892, 249]
    assert float(s.sigmas[-1]) == 0.0 and np.all(np.diff(np.asarray(s.sigmas)) < 0)
    # warm-up from order 1, second order in between, lower order at the final step
    assert np.asarray(s.orders).tolist() == [1] + [2] * 14 + [1]


def test_unipc_is_exact_on_a_straight_flow():
    """With the ideal velocity noise - x0 every x0 prediction is exact, so each step lands on the path."""
    s = FlowUniPCMultistepScheduler(16, 5.0)
    r = np.random.default_rng(0)
    x0, noise = (jnp.asarray(r.normal(size=(2, 3, 5)), jnp.float32) for _ in range(2))
    x, state = noise * s.sigmas[0] + x0 * (1 - s.sigmas[0]), s.init_state(noise)
    for i in range(16):
        x, state = s.step(state, noise - x0, x)
        sig = s.sigmas[i + 1]
        np.testing.assert_allclose(x, (1 - sig) * x0 + sig * noise, atol=2e-5)
    np.testing.assert_allclose(x, x0, atol=2e-5)


def test_unipc_loop_runs_inside_lax_scan_like_the_python_loop():
    s = FlowUniPCMultistepScheduler(16, 5.0)
    r = np.random.default_rng(1)
    sample = jnp.asarray(r.normal(size=(1, 4, 8)), jnp.float32)
    outputs = jnp.asarray(r.normal(size=(16, 1, 4, 8)), jnp.float32)

    @jax.jit
    def denoise(sample, outputs):
        def body(carry, v):
            x, state = carry
            x, state = s.step(state, v, x)
            return (x, state), x

        return jax.lax.scan(body, (sample, s.init_state(sample)), outputs)[1]

    scanned = denoise(sample, outputs)
    x, state = sample, s.init_state(sample)
    for i in range(16):
        x, state = s.step(state, outputs[i], x)
        np.testing.assert_allclose(scanned[i], x, rtol=1e-5, atol=1e-6)
    assert int(state.step) == 16


def test_unipc_corrector_uses_the_history():
    """Same last model output but different earlier outputs must change the result (multistep)."""
    s = FlowUniPCMultistepScheduler(16, 5.0)
    x = jnp.ones((3,))
    outs_a = [jnp.full((3,), 0.5)] * 3
    outs_b = [jnp.full((3,), -0.5), jnp.full((3,), 0.5), jnp.full((3,), 0.5)]
    results = []
    for outs in (outs_a, outs_b):
        y, st = x, s.init_state(x)
        for v in outs:
            y, st = s.step(st, v, y)
        results.append(np.asarray(y))
    assert not np.allclose(results[0], results[1])


def test_flow_match_add_noise_target_and_weights():
    fm = FlowMatchScheduler(1000, shift=5.0)
    sigmas = np.asarray(fm.sigmas)
    assert sigmas[0] == 1.0 and np.all(np.diff(sigmas) < 0) and sigmas[-1] > 0  # extra_one_step drops 0
    assert np.isclose(float(jnp.mean(fm.weights)), 1.0, atol=1e-4) and float(jnp.min(fm.weights)) == 0.0
    x0, noise = jnp.full((2, 3), 2.0), jnp.full((2, 3), -1.0)
    t = fm.timesteps[jnp.array([0, 500])]
    out = fm.add_noise(x0, noise, t)
    s = sigmas[[0, 500]][:, None]
    np.testing.assert_allclose(out, np.broadcast_to((1 - s) * 2.0 + s * -1.0, (2, 3)), rtol=1e-6)
    np.testing.assert_array_equal(fm.training_target(x0, noise), noise - x0)
    # the nearest table entry is used for off-table timesteps
    assert int(fm.index(jnp.asarray(fm.timesteps[10] + 0.01))) == 10
    with pytest.raises(ValueError, match="training=True"):
        FlowMatchScheduler(10, training=False).training_weight(jnp.asarray(1.0))


def test_flow_match_euler_step_reaches_zero_sigma():
    fm = FlowMatchScheduler(4, shift=1.0, training=False)
    x = jnp.asarray(3.0)
    for t in np.asarray(fm.timesteps):
        x = fm.step(jnp.asarray(1.0), t, x)
    # sum of sigma decrements from sigma_0 = 1 down to 0
    np.testing.assert_allclose(x, 3.0 - 1.0, rtol=1e-6)
