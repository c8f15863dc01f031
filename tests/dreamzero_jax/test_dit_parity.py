"""DiT parity with the upstream PyTorch fixtures (training forward, mask, all 36 cached calls)."""

from __future__ import annotations

from dreamzero_jax.parity.checks_dit import checks


def test_dit_matches_fixtures(fixtures_dir):
    results = list(checks(fixtures_dir / "dreamzero_tiny"))
    names = {r.name for r in results}
    assert {"forward_train.video_flow", "forward_train.action_flow", "forward_train.attn_mask"} <= names
    assert sum(n.endswith(".video_flow") for n in names) == 37  # training + 36 inference calls
    assert sum(n.endswith(".action_flow") for n in names) == 33  # training + 32 denoising calls
    assert sum(n.endswith(".kv_cache") for n in names) == 4  # the cache-fill calls
    failed = [r.line() for r in results if not r.passed]
    assert not failed, "\n".join(failed)


def test_missing_fixture_dir_yields_nothing(tmp_path):
    assert list(checks(tmp_path)) == []
