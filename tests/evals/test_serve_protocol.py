"""The msgpack-numpy wire format (openpi-compatible) and the observation <-> wire key mapping."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from evals.contract import wire
from evals.contract.images import resize_with_pad


@pytest.mark.parametrize(
    "array",
    [
        np.arange(180 * 320 * 3, dtype=np.uint8).reshape(180, 320, 3),
        np.linspace(-1, 1, 24 * 8, dtype=np.float32).reshape(24, 8),
        np.array([1.5, -2.25]),
        np.arange(6, dtype=np.int64).reshape(2, 3)[:, ::2],  # non-contiguous view
        np.array([True, False]),
        np.zeros((0, 8), np.float32),
    ],
)
def test_arrays_round_trip_bit_exact(array):
    back = wire.unpackb(wire.packb({"x": array}))["x"]
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # decoded arrays are writable copies


def test_numpy_scalars_and_nesting_round_trip():
    msg = {"a": np.float32(1.5), "b": [np.int64(3), {"c": np.uint8(7)}], "s": "prompt", "n": None}
    back = wire.unpackb(wire.packb(msg))
    assert back["a"] == np.float32(1.5) and back["a"].dtype == np.float32
    assert back["b"][0].dtype == np.int64 and back["b"][1]["c"] == 7
    assert back["s"] == "prompt" and back["n"] is None


def test_encoding_is_openpis_layout_with_bytes_marker_keys():
    raw = msgpack.unpackb(wire.packb(np.zeros((2, 3), np.uint8)), raw=False)
    # openpi packs b"__ndarray__" etc. as bytes keys; old openpi unpackers only recognise those.
    assert raw == {b"__ndarray__": True, b"data": bytes(6), b"dtype": "|u1", b"shape": [2, 3]}
    raw_scalar = msgpack.unpackb(wire.packb(np.float32(2.0)), raw=False)
    assert raw_scalar == {b"__npgeneric__": True, b"data": 2.0, b"dtype": "<f4"}


def test_decodes_the_str_key_variant_some_openpi_forks_send():
    frame = msgpack.packb(
        {"__ndarray__": True, "data": np.int16([1, -2]).tobytes(), "dtype": "<i2", "shape": [2]}
    )
    np.testing.assert_array_equal(wire.unpackb(frame), np.int16([1, -2]))


def test_object_arrays_are_refused():
    with pytest.raises(TypeError, match="dtype object"):
        wire.packb({"x": np.array([{}], dtype=object)})


def test_obs_wire_mapping_prefixes_everything_but_prompt_and_session():
    obs = {
        "exterior_image_0_left": np.zeros((2, 2, 3), np.uint8),
        "joint_position": np.zeros(7, np.float32),
        "prompt": "open the drawer",
        "session_id": "s1",
    }
    frame = wire.obs_to_wire(obs)
    assert sorted(frame) == [
        "observation/exterior_image_0_left",
        "observation/joint_position",
        "prompt",
        "session_id",
    ]
    back = wire.wire_to_obs({**frame, "endpoint": "infer", "client_bookkeeping": 1})
    assert sorted(back) == sorted(obs)
    assert back["prompt"] == "open the drawer"


def test_endpoint_is_not_an_observation():
    with pytest.raises(ValueError, match="control key"):
        wire.obs_to_wire({"endpoint": "infer"})


def test_resize_with_pad_keeps_aspect_ratio_and_centres_on_black():
    white = np.full((180, 320, 3), 255, np.uint8)
    out = resize_with_pad(white, 224, 224)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    rows = np.flatnonzero(out[:, 112, 0] > 0)
    # 320 -> 224 wide, so 180 -> 126 high, centred: 49 black rows above, 49 below.
    assert (rows[0], rows[-1]) == (49, 174) and (out[rows[0] : rows[-1] + 1] == 255).all()
    assert resize_with_pad(white, 180, 320) is white  # already the right size: untouched
    stacked = resize_with_pad(np.stack([white, white]), 90, 160)
    assert stacked.shape == (2, 90, 160, 3) and (stacked == 255).all()
