"""The policy contract: what a policy is, how its chunks become env actions, and how it travels over the wire.

Small and JAX-free on purpose (openpi keeps its contract in the tiny ``openpi-client`` package): it imports
numpy, msgpack and PIL, and nothing else of ``evals``. Both sides of a remote policy use it: the client
(``evals.policies.remote``) and the server (``evals.serve``), which do not import each other.

Modules:
    policy: :class:`Policy` (protocol), :class:`PolicyMetadata`, :func:`metadata_from_dict`.
    adapter: :class:`ChunkedPolicyWrapper` (chunk -> one safe action per step), :class:`StepInfo`,
        :class:`PolicyOutputError`.
    images: :func:`resize_with_pad` (openpi's client-side resizing).
    wire: the openpi / RoboArena websocket format (``packb``/``unpackb``, ``obs_to_wire``/``wire_to_obs``,
        the metadata frame).
"""

from evals.contract.adapter import ChunkedPolicyWrapper, PolicyOutputError, StepInfo
from evals.contract.images import resize_with_pad
from evals.contract.policy import Policy, PolicyMetadata, metadata_from_dict

__all__ = [
    "ChunkedPolicyWrapper",
    "Policy",
    "PolicyMetadata",
    "PolicyOutputError",
    "StepInfo",
    "metadata_from_dict",
    "resize_with_pad",
]
