"""Lazy, torch-free reading of safetensors checkpoints: one file, a sharded index, or a directory.

Headers are read without touching tensor data, so name/shape tables of a 14B checkpoint cost nothing;
tensors are read one shard at a time with ``safetensors.numpy`` (``safe_open(..., framework="np")``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import safe_open


class CheckpointError(Exception):
    """The checkpoint path is not a readable safetensors file, index or directory."""


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str  # safetensors dtype string, e.g. "F32", "BF16"
    shard: Path


def _shards_of(path: Path) -> list[Path]:
    if path.is_dir():
        indexes = sorted(path.glob("*.safetensors.index.json"))
        if indexes:
            return _shards_of(indexes[0])
        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise CheckpointError(f"{path}: directory holds no .safetensors files")
        return files
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if path.suffix == ".json":
        try:
            weight_map = json.loads(path.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise CheckpointError(f"{path}: not a safetensors index (needs a 'weight_map' object)") from e
        shards = [path.parent / s for s in dict.fromkeys(weight_map.values())]
        missing = [s for s in shards if not s.exists()]
        if missing:
            raise CheckpointError(f"{path}: shard {missing[0].name} listed in weight_map does not exist")
        return shards
    if path.suffix == ".safetensors":
        return [path]
    raise CheckpointError(f"{path}: expected a .safetensors file, an index .json or a directory")


class CheckpointReader:
    """A safetensors checkpoint opened lazily; ``infos()`` reads headers only."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.shards: list[Path] = _shards_of(self.path)
        self._infos: dict[str, TensorInfo] | None = None

    def infos(self) -> dict[str, TensorInfo]:
        """Name -> (shape, dtype, shard) for every tensor, from the headers alone."""
        if self._infos is None:
            infos: dict[str, TensorInfo] = {}
            for shard in self.shards:
                try:
                    with safe_open(str(shard), framework="np") as f:
                        for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                            sl = f.get_slice(name)
                            infos[name] = TensorInfo(tuple(sl.get_shape()), sl.get_dtype(), shard)
                except Exception as e:  # safetensors raises its own error types for bad headers
                    raise CheckpointError(f"{shard}: cannot read safetensors header ({e})") from e
            self._infos = infos
        return self._infos

    def names(self) -> list[str]:
        return list(self.infos())

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: v.shape for k, v in self.infos().items()}

    def iter_shards(self, wanted: set[str] | None = None) -> Iterator[Iterator[tuple[str, np.ndarray]]]:
        """Yield, per shard, an iterator of (name, array) read one tensor at a time.

        Only names in ``wanted`` are read. Consumers should drop each array once converted, so at
        most one shard's tensors (usually one tensor) are alive at a time.
        """
        for shard in self.shards:
            yield self._read_shard(shard, wanted)

    @staticmethod
    def _read_shard(shard: Path, wanted: set[str] | None) -> Iterator[tuple[str, np.ndarray]]:
        with safe_open(str(shard), framework="np") as f:
            for name in f.keys():  # noqa: SIM118
                if wanted is None or name in wanted:
                    yield name, f.get_tensor(name)

    def read_all(self, wanted: set[str] | None = None) -> dict[str, np.ndarray]:
        """Every (wanted) tensor in memory at once: only for small checkpoints and tests."""
        return {k: v for shard in self.iter_shards(wanted) for k, v in shard}
