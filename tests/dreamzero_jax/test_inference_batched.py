"""The batched chunk step on a random tiny DiT: every session equals itself alone; bounded compilations."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.batched import BatchedSampler, bucket, pad_rows, pad_slots
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT
from tests.dreamzero_jax.sampler_inputs import CHUNKS, HW, session_inputs


@pytest.fixture(scope="module")
def model():
    return CausalWanDiT(dataclasses.replace(DiTConfig.tiny(), max_chunk_size=CHUNKS), rngs=nnx.Rngs(7))


def alone(model, sampler, ep):
    """Reference: the session run by the single-session sampler, one chunk after the other."""
    cond, chunk, observed = ep
    params = nnx.state(model)
    session, outs = sampler.new_session(HW), []
    for c, latents in enumerate(observed):
        session = sampler.fill(params, session, latents, cond, jnp.int32(0 if c == 0 else 2 * c - 1))
        outs.append(sampler.denoise(params, session, cond, chunk, jnp.int32(2 * c + 1)))
    return outs


class Driver:
    """Runs a schedule of calls on the batched sampler: each call advances the sessions it names by a chunk."""

    def __init__(self, model, config, capacity):
        self.batched = BatchedSampler(ChunkSampler(model, config))
        self.params = nnx.state(model)
        self.pool = self.batched.new_pool(capacity, HW, 5)
        self.capacity, self.chunk_of, self.slot_of = capacity, {}, {}

    def call(self, names: list[str], episodes: dict) -> dict:
        starting = [s for s in names if s not in self.chunk_of]
        for s in starting:
            self.slot_of[s] = min(set(range(self.capacity)) - set(self.slot_of.values()))
            self.chunk_of[s] = 0
        going = [s for s in names if s not in starting]
        b = self.batched
        if starting:
            size = bucket(len(starting))
            conds = [episodes[s][0] for s in starting]
            cond = Conditioning(
                *(pad_rows([getattr(c, f) for c in conds], size) for f in Conditioning._fields)
            )
            self.pool = b.start(
                self.params,
                self.pool,
                pad_slots([self.slot_of[s] for s in starting], size, self.capacity),
                cond,
                pad_rows([episodes[s][2][0] for s in starting], size),
            )
        if going:
            size = bucket(len(going))
            self.pool = b.fill(
                self.params,
                self.pool,
                pad_slots([self.slot_of[s] for s in going], size, self.capacity),
                pad_rows([episodes[s][2][self.chunk_of[s]] for s in going], size),
                pad_rows([jnp.int32(2 * self.chunk_of[s] - 1) for s in going], size),
            )
        size = bucket(len(names))
        chunks = [episodes[s][1] for s in names]
        out = b.denoise(
            self.params,
            self.pool,
            pad_slots([self.slot_of[s] for s in names], size, self.capacity),
            ChunkInputs(*(pad_rows([getattr(c, f) for c in chunks], size) for f in ChunkInputs._fields)),
            pad_rows([jnp.int32(2 * self.chunk_of[s] + 1) for s in names], size),
        )
        result = {}
        for i, s in enumerate(names):
            result[s] = (self.chunk_of[s], jax.tree.map(lambda a, i=i: np.asarray(a[i]), out))  # [1, ...]
            self.chunk_of[s] += 1
        return result

    def leave(self, name: str) -> None:
        del self.chunk_of[name], self.slot_of[name]


# sessions join and leave between calls; a new one takes a freed slot while others are mid-episode
SCHEDULE = (["a"], ["a", "b"], ["b", "a", "c"], ["c", "b", "d"], ["d", "c"], ["d"])
LEAVES = {2: "a", 4: "b"}  # after call i, this session leaves


def run_schedule(driver, episodes):
    got = []
    for i, names in enumerate(SCHEDULE):
        got.append(driver.call(names, episodes))
        if i in LEAVES:
            driver.leave(LEAVES[i])
    return got


@pytest.fixture(scope="module")
def episodes(model):
    return {s: session_inputs(model.config, seed) for s, seed in zip("abcdefgh", range(1, 9), strict=True)}


def batched_and_alone(model, episodes, dit_cache):
    config = SamplerConfig(dit_cache=dit_cache)
    sampler = ChunkSampler(model, config)
    want = {s: alone(model, sampler, episodes[s]) for s in "abcd"}
    driver = Driver(model, config, capacity=3)
    return driver, run_schedule(driver, episodes), want


@pytest.fixture(scope="module")
def static_run(model, episodes):
    return batched_and_alone(model, episodes, "static")


def assert_equal_alone(got, want):
    for i, call in enumerate(got):
        for s, (c, out) in call.items():
            ref = want[s][c]
            np.testing.assert_allclose(out.action, ref.action, atol=1e-5, rtol=0, err_msg=f"call {i} {s}")
            np.testing.assert_allclose(out.video, ref.video, atol=1e-5, rtol=0, err_msg=f"call {i} {s}")
            np.testing.assert_array_equal(out.ran, ref.ran)


def test_batched_sessions_equal_each_session_alone(static_run):
    _, got, want = static_run
    assert_equal_alone(got, want)
    # the sessions really differ (prompts, inputs), so the equality above is per session
    assert np.abs(got[2]["a"][1].action - got[2]["b"][1].action).max() > 1e-3
    # calls mix chunk indices: in call 3, c is at chunk 1, b at chunk 2 and d at chunk 0
    assert {s: c for s, (c, _) in got[3].items()} == {"c": 1, "b": 2, "d": 0}


@pytest.mark.slow
def test_dynamic_schedule_is_masked_per_session(model, episodes):
    _, got, want = batched_and_alone(model, episodes, "dynamic")
    assert_equal_alone(got, want)
    # sessions of one call took different DiT passes, yet each equals itself alone
    assert len({int(out.ran.sum()) for _, out in got[2].values()}) > 1


def test_joins_and_leaves_compile_once_per_bucket(static_run, episodes):
    driver = static_run[0]
    # buckets used: start 1; fill 1, 2; denoise 1, 2, 4 (three sessions pad to 4 rows)
    assert dict(driver.batched.compiles) == {"start": 1, "fill": 2, "denoise": 3}
    # a second wave of sessions joining and leaving at the same bucket sizes compiles nothing new
    for s in list(driver.chunk_of):
        driver.leave(s)
    run_schedule(driver, {k: episodes[v] for k, v in zip("abcd", "efgh", strict=True)})
    assert dict(driver.batched.compiles) == {"start": 1, "fill": 2, "denoise": 3}


def test_bucket_sizes():
    assert [bucket(n) for n in (1, 2, 3, 4, 5, 8, 9, 17)] == [1, 2, 4, 4, 8, 8, 16, 32]
    with pytest.raises(ValueError):
        bucket(0)
