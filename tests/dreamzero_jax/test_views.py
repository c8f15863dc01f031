"""DROID / grid camera layouts and the uint8 -> [-1, 1] conversion, against the upstream fixture."""

from __future__ import annotations

import numpy as np
import pytest

from dreamzero_jax.views import droid_layout, grid_layout, layout_views, single_layout, to_signed_unit


@pytest.fixture(scope="module")
def views_io(fixtures_dir):
    return np.load(fixtures_dir / "dreamzero_tiny_encoders" / "views_io.npz")


def test_droid_layout_matches_upstream_exactly(views_io):
    for suffix in ("", "_b"):
        out = droid_layout(views_io[f"in_views_droid{suffix}"])
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, views_io[f"out_droid_layout{suffix}"])


def test_grid_layout_matches_upstream_exactly(views_io):
    np.testing.assert_array_equal(grid_layout(views_io["in_views_grid"]), views_io["out_grid_layout"])


def test_droid_wrist_columns_are_duplicated_not_tiled():
    views = np.zeros((3, 2, 3, 1), np.uint8)
    views[2, 0, :, 0] = [1, 2, 3]
    top_row = droid_layout(views)[0, :, 0]
    np.testing.assert_array_equal(top_row, [1, 1, 2, 2, 3, 3])


def test_grid_with_fewer_views_leaves_black_cells():
    views = np.full((2, 2, 2, 3), 7, np.uint8)
    out = grid_layout(views)
    assert out.shape == (4, 4, 3)
    assert np.all(out[:2, :2] == 7) and np.all(out[2:, :2] == 7)
    assert np.all(out[:2, 2:] == 0) and np.all(out[2:, 2:] == 0)


def test_registry_and_errors():
    views = np.ones((1, 4, 4, 3), np.uint8)
    np.testing.assert_array_equal(layout_views(views, "single"), single_layout(views))
    with pytest.raises(ValueError, match="unknown view layout"):
        layout_views(views, "nope")
    with pytest.raises(ValueError, match="V>=3"):
        droid_layout(np.ones((2, 4, 4, 3), np.uint8))


def test_signed_unit_video_matches_upstream_bitwise(views_io):
    layouts = np.stack([views_io["out_droid_layout"], views_io["out_droid_layout_b"]])  # [B, T, H, W, C]
    ours = np.asarray(to_signed_unit(layouts))
    ref = views_io["out_video"].transpose(0, 2, 3, 4, 1)  # upstream [B, C, T, H, W]
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, ref)
    assert ours.min() >= -1.0 and ours.max() <= 1.0


@pytest.mark.slow
def test_parity_cli_checks_all_pass(fixtures_dir):
    from dreamzero_jax.parity.checks_text_image import checks

    results = list(checks(fixtures_dir))
    assert len(results) >= 20
    assert [r.line() for r in results if not r.passed] == []
