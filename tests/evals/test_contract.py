"""The policy-contract package: typed metadata, its boundary conversion, the metadata frame, import isolation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from evals.contract import PolicyMetadata, metadata_from_dict, wire


def test_a_plain_metadata_dict_becomes_typed_at_the_boundary():
    raw = {
        "name": "dreamzero",
        "action_space": "joint_position",
        "action_dim": 8,
        "cameras": ["exterior_image_1_left", "wrist_image_left"],
        "image_size": [176, 320],
        "chunk_length": 24,
        "config": {"config": "tiny"},
        "frame_stride": 3,  # not a field: kept in config, not dropped
    }
    meta = metadata_from_dict(raw)
    assert meta == PolicyMetadata(
        name="dreamzero",
        action_space="joint_position",
        action_dim=8,
        cameras=("exterior_image_1_left", "wrist_image_left"),
        image_size=(176, 320),
        chunk_length=24,
        config={"config": "tiny", "frame_stride": 3},
    )
    assert metadata_from_dict({"name": "bare"}) == PolicyMetadata(name="bare")
    with pytest.raises(dataclasses.FrozenInstanceError):
        meta.name = "other"


def test_the_metadata_frames_are_roboarenas_exactly_and_ours_namespaced_and_read_back():
    meta = PolicyMetadata(
        name="m",
        action_space="joint_velocity",
        action_dim=8,
        cameras=("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left"),
        image_size=(90, 160),
        chunk_length=6,
        config={"k": 2},
    )
    strict = wire.unpackb(wire.packb(wire.roboarena_config(meta)))
    assert strict == {
        "image_resolution": [90, 160],
        "needs_wrist_camera": True,
        "n_external_cameras": 2,
        "needs_stereo_camera": False,
        "needs_session_id": True,
        "action_space": "joint_velocity",
    }
    # A state-only policy is still advertised in the DROID layout (DROID clients require its cameras).
    bare = wire.roboarena_config(PolicyMetadata(name="zero"), "cartesian_velocity")
    assert bare["image_resolution"] == [180, 320] and bare["n_external_cameras"] == 2
    assert bare["action_space"] == "cartesian_velocity"
    frame = wire.unpackb(wire.packb(wire.evals_metadata_frame(meta)))
    assert {k: v for k, v in frame.items() if k != "evals"} == strict
    back = wire.metadata_from_frame(frame, name="client-side", config={"uri": "ws://x"})
    assert back == PolicyMetadata(
        name="client-side",
        action_space="joint_velocity",
        action_dim=8,
        cameras=meta.cameras,
        image_size=(90, 160),
        chunk_length=6,
        config={"uri": "ws://x"},
    )


def test_a_roboarena_frame_without_our_keys_names_the_droid_cameras():
    frame = {"image_resolution": (180, 320), "n_external_cameras": 1, "needs_wrist_camera": False}
    meta = wire.metadata_from_frame(frame, name="r", config={})
    assert meta.cameras == ("exterior_image_0_left",) and meta.image_size == (180, 320)
    assert wire.metadata_from_frame({}, name="openpi", config={}).cameras == wire.DROID_CAMERAS


def test_the_contract_imports_nothing_else_of_evals_and_no_jax():
    code = (
        "import sys, evals.contract, evals.contract.wire\n"
        "print(sorted(m for m in sys.modules if (m.startswith('evals.') and not m.startswith('evals.contract'))"
        " or m.split('.')[0] in ('jax', 'envs', 'dreamzero_jax', 'websockets')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
