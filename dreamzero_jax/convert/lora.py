"""Fold PEFT LoRA adapters into their base weights while streaming a checkpoint.

DreamZero trained with ``train_architecture=lora`` wraps the DiT with PEFT, so its checkpoint names read
``action_head.model.base_model.model.blocks.0.self_attn.q.base_layer.weight`` plus
``....q.lora_A.default.weight`` [r, in] and ``....q.lora_B.default.weight`` [out, r]. :func:`fold_lora`
wraps a :class:`CheckpointReader` so that it presents the plain names (``...self_attn.q.weight``) with
``W = W_base + scale * B @ A`` (PEFT's merge; ``scale = lora_alpha / r``), so rules, dry runs and
streaming loads work unchanged. A checkpoint without adapters is returned as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from dreamzero_jax.convert.safetensors_io import CheckpointReader, TensorInfo

_PEFT_WRAPPER = "base_model.model."
_ROLE = re.compile(
    r"^(?P<layer>.+)\.(?:(?P<base>base_layer)|(?P<lora>lora_[AB])\.[^.]+)\.(?P<leaf>weight|bias)$"
)


def _canonical(name: str) -> tuple[str, str]:
    """(plain name, role) with role "plain", "base", "lora_A" or "lora_B"."""
    name = name.replace(_PEFT_WRAPPER, "", 1)
    m = _ROLE.match(name)
    if m is None:
        return name, "plain"
    plain = f"{m['layer']}.{m['leaf']}"
    if m["base"]:
        return plain, "base" if m["leaf"] == "weight" else "plain"
    return plain, m["lora"]


class LoraFoldedReader:
    """A CheckpointReader view with LoRA triples (base, A, B) merged into one tensor per layer."""

    def __init__(self, reader: CheckpointReader, scale: float):
        self.reader, self.scale, self.path, self.shards = reader, scale, reader.path, reader.shards
        self._parts: dict[str, dict[str, str]] = {}  # plain name -> role -> checkpoint name
        for full in reader.names():
            plain, role = _canonical(full)
            self._parts.setdefault(plain, {})[role] = full
        infos = reader.infos()
        self._infos: dict[str, TensorInfo] = {}
        self._source: dict[str, tuple[str, str]] = {}  # checkpoint name -> (exposed name, role)
        for plain, parts in self._parts.items():
            if self._complete(parts, infos):
                main = parts.get("base", parts.get("plain"))
                self._infos[plain] = infos[main]
                for role, full in parts.items():
                    self._source[full] = (plain, role)
            else:  # incomplete or inconsistent adapters: expose raw names so a dry run reports them
                for full in parts.values():
                    self._infos[full] = infos[full]
                    self._source[full] = (full, "plain")

    @staticmethod
    def _complete(parts: dict[str, str], infos: dict[str, TensorInfo]) -> bool:
        if set(parts) == {"plain"}:
            return True
        if set(parts) != {"base", "lora_A", "lora_B"}:
            return False
        w, a, b = (infos[parts[r]].shape for r in ("base", "lora_A", "lora_B"))
        # LoRA here only wraps nn.Linear layers (q, k, v, o, ffn.0, ffn.2): W [out, in] = B [out, r] @ A [r, in]
        return len(w) == len(a) == len(b) == 2 and a[1] == w[1] and b[0] == w[0] and a[0] == b[1]

    def infos(self) -> dict[str, TensorInfo]:
        return self._infos

    def names(self) -> list[str]:
        return list(self._infos)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: v.shape for k, v in self._infos.items()}

    def iter_shards(self, wanted: set[str] | None = None) -> Iterator[Iterator[tuple[str, np.ndarray]]]:
        """Per shard, (name, array) with merged weights; an adapter split over shards is merged late."""
        wanted_full = None
        if wanted is not None:
            wanted_full = {full for full, (name, _) in self._source.items() if name in wanted}
        pending: dict[str, dict[str, np.ndarray]] = {}
        for shard in self.reader.iter_shards(wanted_full):
            yield self._merge_stream(shard, pending)

    def _merge_stream(self, shard, pending) -> Iterator[tuple[str, np.ndarray]]:
        for full, array in shard:
            name, role = self._source[full]
            if role == "plain":
                yield name, array
                continue
            parts = pending.setdefault(name, {})
            parts[role] = array
            if len(parts) == 3:
                del pending[name]
                a, b = parts["lora_A"].astype(np.float32), parts["lora_B"].astype(np.float32)
                yield name, parts["base"].astype(np.float32) + np.float32(self.scale) * (b @ a)

    def read_all(self, wanted: set[str] | None = None) -> dict[str, np.ndarray]:
        return {k: v for shard in self.iter_shards(wanted) for k, v in shard}


def fold_lora(reader: CheckpointReader, scale: float = 1.0) -> CheckpointReader | LoraFoldedReader:
    """``reader`` with PEFT LoRA adapters folded in (``scale`` = lora_alpha / rank), or as is without any."""
    if not any(_PEFT_WRAPPER in n or ".lora_A." in n for n in reader.names()):
        return reader
    return LoraFoldedReader(reader, scale)
