"""The openpi / RoboArena websocket wire format: msgpack frames with numpy arrays, and the observation keys.

Arrays travel as openpi-client's ``msgpack_numpy`` does: an ndarray becomes the map
``{b"__ndarray__": True, b"data": raw bytes, b"dtype": dtype.str, b"shape": shape}`` and a numpy scalar
``{b"__npgeneric__": True, b"data": item, b"dtype": dtype.str}``. The marker keys are *bytes* because that is
what openpi packs, and older openpi unpackers only look for the bytes keys; we decode both spellings.

Observation frames use DROID/RoboArena keys: every env observation entry ``k`` travels as ``observation/k``;
``prompt`` (and the RoboArena control keys ``session_id`` / ``endpoint``) travel unprefixed.

The server's first frame is its metadata: exactly RoboArena's ``PolicyServerConfig`` fields
(:func:`roboarena_config`), plus our full metadata under ``"evals"`` only for clients that ask with the
:data:`EVALS_HEADER` handshake header (:func:`evals_metadata_frame`). A client reads any server's first frame
(openpi: free-form; RoboArena: ``PolicyServerConfig``; ours) back with :func:`metadata_from_frame`.

Example:
    >>> import numpy as np
    >>> frame = packb(obs_to_wire({"joint_position": np.zeros(7, np.float32), "prompt": "pick"}))
    >>> sorted(wire_to_obs(unpackb(frame)))
    ['joint_position', 'prompt']
"""

from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

from evals.contract.policy import PolicyMetadata

OBS_PREFIX = "observation/"
# Keys sent without the ``observation/`` prefix (language and RoboArena session bookkeeping).
UNPREFIXED_KEYS = ("prompt", "session_id")
# Control key of the RoboArena / DreamZero servers: "infer" or "reset". Never part of an observation.
ENDPOINT_KEY = "endpoint"
# RoboArena servers answer ``{"endpoint": "reset"}`` with this text frame.
RESET_REPLY = "reset successful"
# Metadata keys of RoboArena's PolicyServerConfig that tell a RoboArena-style server from a plain openpi one.
ROBOARENA_KEYS = ("n_external_cameras", "needs_wrist_camera", "needs_session_id")
DROID_CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
DROID_IMAGE_SIZE = (180, 320)
# Actions DROID / RoboArena clients execute from each chunk without checking its length.
DROID_OPEN_LOOP_HORIZON = 8
# Our client sends this handshake header; our server then adds its full metadata under EVALS_KEY. Foreign
# servers ignore the header, and clients without it (strict RoboArena ones) never see the extra key.
EVALS_HEADER = "X-Evals-Metadata"
EVALS_KEY = "evals"


def _encode(obj: Any) -> Any:
    """msgpack ``default`` hook: numpy arrays and scalars to openpi's extension maps."""
    if isinstance(obj, np.ndarray | np.generic) and obj.dtype.kind in ("V", "O", "c"):
        # Same refusal as openpi: object/void/complex arrays have no portable byte layout.
        raise TypeError(f"cannot send numpy dtype {obj.dtype} over the wire")
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        return {b"__ndarray__": True, b"data": arr.tobytes(), b"dtype": arr.dtype.str, b"shape": arr.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise TypeError(f"cannot send object of type {type(obj).__name__} over the wire")


def _decode(obj: dict) -> Any:
    """msgpack ``object_hook``: openpi's extension maps back to numpy (bytes or str marker keys)."""
    for marker, data, dtype, shape in (
        (b"__ndarray__", b"data", b"dtype", b"shape"),
        ("__ndarray__", "data", "dtype", "shape"),
    ):
        if marker in obj:
            # Copy: a view on the frame's bytes would be read-only.
            return np.frombuffer(obj[data], dtype=np.dtype(obj[dtype])).reshape(obj[shape]).copy()
    for marker, data, dtype in ((b"__npgeneric__", b"data", b"dtype"), ("__npgeneric__", "data", "dtype")):
        if marker in obj:
            return np.dtype(obj[dtype]).type(obj[data])
    return obj


def packb(obj: Any) -> bytes:
    """Serialise ``obj`` (dicts, lists, str, numbers, numpy arrays/scalars) to one binary frame."""
    return msgpack.packb(obj, default=_encode, use_bin_type=True)


def unpackb(data: bytes) -> Any:
    """Deserialise one binary frame produced by :func:`packb` or by openpi-client's packer."""
    return msgpack.unpackb(data, object_hook=_decode, raw=False, strict_map_key=False)


def obs_to_wire(obs: dict[str, Any]) -> dict[str, Any]:
    """Env observation dict (plus ``prompt``) -> wire dict with ``observation/<key>`` prefixes."""
    wire: dict[str, Any] = {}
    for key, value in obs.items():
        if key in UNPREFIXED_KEYS:
            wire[key] = value
        elif key == ENDPOINT_KEY:
            raise ValueError(f"{ENDPOINT_KEY!r} is a control key, not an observation")
        else:
            wire[OBS_PREFIX + key] = value
    return wire


def wire_to_obs(wire: dict[str, Any]) -> dict[str, Any]:
    """Wire dict -> env observation dict: prefixes stripped, ``prompt``/``session_id`` kept, control keys dropped.

    Keys that are neither prefixed nor known are dropped too: clients add their own bookkeeping.
    """
    obs: dict[str, Any] = {}
    for key, value in wire.items():
        if key.startswith(OBS_PREFIX):
            obs[key[len(OBS_PREFIX) :]] = value
        elif key in UNPREFIXED_KEYS:
            obs[key] = value
    return obs


def roboarena_config(meta: PolicyMetadata, default_action_space: str = "joint_position") -> dict[str, Any]:
    """The first frame every client gets: exactly RoboArena's ``PolicyServerConfig`` fields, DROID layout.

    Strict clients build ``PolicyServerConfig(**frame)``, so no other key may be present. The DROID cameras
    (2 exterior + wrist) are advertised whatever the policy reads (a state-only baseline ignores them): DROID
    clients require them. ``image_resolution`` is the policy's image size, else DROID's 180x320.
    """
    size = DROID_IMAGE_SIZE if meta.image_size is None else meta.image_size
    return {
        "image_resolution": [int(size[0]), int(size[1])],
        "needs_wrist_camera": True,
        "n_external_cameras": 2,
        "needs_stereo_camera": False,
        "needs_session_id": True,
        "action_space": meta.action_space or default_action_space,
    }


def evals_metadata_frame(
    meta: PolicyMetadata, default_action_space: str = "joint_position"
) -> dict[str, Any]:
    """The first frame for our own client (it connects with :data:`EVALS_HEADER`): RoboArena's config plus our
    full metadata under :data:`EVALS_KEY`, where the policy's own cameras and chunk length are exact."""
    ours = {**meta.to_dict(), "cameras": list(meta.cameras)}
    return {**roboarena_config(meta, default_action_space), EVALS_KEY: ours}


def metadata_from_frame(frame: dict[str, Any], *, name: str, config: dict[str, Any]) -> PolicyMetadata:
    """Typed metadata from any server's first frame; what the frame does not say takes DROID defaults.

    Ours carry the full metadata under :data:`EVALS_KEY` (and, before that key existed, at the top level);
    RoboArena's count exterior views and flag the wrist one; otherwise (openpi) every DROID view is sent.
    """
    if isinstance(frame.get(EVALS_KEY), dict):
        frame = frame[EVALS_KEY]
    if "cameras" in frame:
        cameras = tuple(str(c) for c in frame["cameras"])
    elif any(k in frame for k in ROBOARENA_KEYS):
        n_ext = int(frame.get("n_external_cameras", 1))
        cameras = tuple(f"exterior_image_{i}_left" for i in range(n_ext))
        cameras += ("wrist_image_left",) if frame.get("needs_wrist_camera", True) else ()
    else:
        cameras = DROID_CAMERAS
    size = frame.get("image_size", frame.get("image_resolution"))
    chunk = frame.get("chunk_length")
    return PolicyMetadata(
        name=name,
        action_space=str(frame.get("action_space") or "joint_position"),
        action_dim=int(frame.get("action_dim") or 8),
        cameras=cameras,
        image_size=None if size is None else (int(size[0]), int(size[1])),
        chunk_length=None if chunk is None else int(chunk),
        config=config,
    )


def jsonable(value: Any) -> Any:
    """A decoded frame as plain JSON types (bytes keys and values decoded, arrays as lists), for run.json."""
    if isinstance(value, dict):
        return {str(k.decode() if isinstance(k, bytes) else k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value
