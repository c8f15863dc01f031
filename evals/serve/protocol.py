"""The openpi / RoboArena websocket wire format: msgpack frames with numpy arrays, and the observation keys.

Arrays travel as openpi-client's ``msgpack_numpy`` does: an ndarray becomes the map
``{b"__ndarray__": True, b"data": raw bytes, b"dtype": dtype.str, b"shape": shape}`` and a numpy scalar
``{b"__npgeneric__": True, b"data": item, b"dtype": dtype.str}``. The marker keys are *bytes* because that is
what openpi packs, and older openpi unpackers only look for the bytes keys; we decode both spellings.

Observation frames use DROID/RoboArena keys: every env observation entry ``k`` travels as ``observation/k``;
``prompt`` (and the RoboArena control keys ``session_id`` / ``endpoint``) travel unprefixed.

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

OBS_PREFIX = "observation/"
# Keys sent without the ``observation/`` prefix (language and RoboArena session bookkeeping).
UNPREFIXED_KEYS = ("prompt", "session_id")
# Control key of the RoboArena / DreamZero servers: "infer" or "reset". Never part of an observation.
ENDPOINT_KEY = "endpoint"


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
