"""Run the frozen encoders over a dataset once and keep the results on disk, so a training step runs the
DiT only.

:func:`build_sample_set` reads a LeRobot dataset, cuts every episode into the windows the policy sees
(:mod:`.samples`), encodes their pixels with the VAE (batched, fixed shapes: one compile) and each distinct
instruction with umT5 (as the policy's prompt cache does), and caches these encoder outputs in
``<cache_dir>/<split>-<key>.npz``. The key hashes the dataset's metadata, the encoding part of the model
config (not the DiT's architecture, the sampler or the label settings) and the encoders' weights, so a
change to any of them re-encodes instead of reusing stale latents, while a wider DiT reuses the encode.
Labels (action chunks, states) are cheap and are recomputed from the dataset at every load, normalised
with the statistics of the training split.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.conditioning import NEGATIVE_PROMPT, droid_prompt, first_frame_clip, y_from_latent
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.data.lerobot import Columns, DatasetError, Episode, LeRobotDataset
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.inference.components import Components
from dreamzero_jax.inference.encoders import TextEncoder
from dreamzero_jax.normalization import MinMax, NormStats
from dreamzero_jax.train.batch import TrainBatch
from dreamzero_jax.train.samples import (
    Window,
    check_layout,
    label_rows,
    phase_offsets,
    window_episode,
    window_labels,
    window_pixels,
    windows_of,
)
from dreamzero_jax.views import to_signed_unit

DEFAULT_COLUMNS = Columns()
ENCODE_BATCH = 8  # VAE clips per call; the last batch is padded, so the VAE compiles once per clip shape
STATE_DIMS = 8  # DROID: 7 joint positions + gripper


def dataset_stats(config: ModelConfig, episodes: tuple[Episode, ...]) -> NormStats:
    """Min/max of the states and of the action labels as the model predicts them (relative where the config
    says) over ``episodes``.

    One embodiment per model: the statistics are the robot's, and the policy cannot tell robots apart.
    """
    robots = sorted({e.embodiment for e in episodes})
    if len(robots) > 1:
        raise DatasetError(f"episodes of several embodiments {robots}: train one model per embodiment")
    state = np.concatenate([e.state[:, :STATE_DIMS] for e in episodes]).astype(np.float64)
    action = np.concatenate([label_rows(config, e.state, e.action)[:, :STATE_DIMS] for e in episodes])
    action = action.astype(np.float64)
    return NormStats(MinMax(state.min(0), state.max(0)), MinMax(action.min(0), action.max(0)))


@dataclass
class EncodedWindows:
    """The encoder outputs of a split's windows (what the on-disk cache holds)."""

    latents: np.ndarray  # [N, F, h, w, 16]
    y: np.ndarray  # [N, F, h, w, 20]
    task_index: np.ndarray  # [N] into contexts
    contexts: np.ndarray  # [K, text_len, text_dim]
    image_features: np.ndarray  # [1, 257, 1280]
    episode: np.ndarray  # [N] dataset episode index of each window
    uncond_context: np.ndarray | None = None  # [1, text_len, text_dim] negative prompt (CFG configs only)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.stem + ".tmp.npz")
        arrays = {k: getattr(self, k) for k in self.__dataclass_fields__ if getattr(self, k) is not None}
        np.savez(tmp, **arrays)
        tmp.replace(path)  # atomic: an interrupted encode never leaves a truncated cache behind

    @classmethod
    def load(cls, path: Path) -> EncodedWindows:
        with np.load(path) as data:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class CachedSamples:
    """A :class:`~dreamzero_jax.train.batch.SampleSet`: encoded windows and their normalised labels."""

    encoded: EncodedWindows
    actions: np.ndarray  # [N, blocks * apb, action_dim] normalised
    state: np.ndarray  # [N, blocks, max_state_dim] normalised (bf16-rounded, as the policy feeds it)

    @property
    def image_features(self) -> np.ndarray:
        return self.encoded.image_features

    @property
    def uncond_context(self) -> np.ndarray | None:
        return self.encoded.uncond_context

    def __len__(self) -> int:
        return len(self.encoded.latents)

    def batch(self, indices: np.ndarray) -> TrainBatch:
        idx, enc = np.asarray(indices), self.encoded
        return TrainBatch(
            enc.latents[idx],
            enc.y[idx],
            enc.contexts[enc.task_index[idx]],
            self.actions[idx],
            self.state[idx],
        )


def _state_block(config: ModelConfig, stats: NormStats, raw: np.ndarray) -> np.ndarray:
    out = np.zeros((*raw.shape[:-1], config.dit.max_state_dim), np.float32)
    out[..., : raw.shape[-1]] = stats.state.normalize(raw)
    # the policy casts the state to bfloat16 before the model (as upstream): train on the same values
    return np.asarray(jnp.asarray(out).astype(jnp.bfloat16).astype(jnp.float32))


def _action_block(config: ModelConfig, stats: NormStats, raw: np.ndarray) -> np.ndarray:
    out = np.zeros((*raw.shape[:-1], config.dit.action_dim), np.float32)
    out[..., : raw.shape[-1]] = stats.action.normalize(raw)
    return out


def label_windows(
    config: ModelConfig, episodes: tuple[Episode, ...], windows: list[Window], stats: NormStats
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised (actions, states) of every window."""
    labels = []
    for w in windows:
        ep = window_episode(episodes, w)
        labels.append(window_labels(config, ep.state, ep.action, w.call))
    actions = np.stack([_action_block(config, stats, lab.actions[:, :STATE_DIMS]) for lab in labels])
    states = np.stack([_state_block(config, stats, lab.states[:, :STATE_DIMS]) for lab in labels])
    return actions, states


def _encode_clips(encode, clips: np.ndarray) -> np.ndarray:
    """VAE latents of clips [N, T, H, W, 3] in [-1, 1], in fixed-size batches (one compile per clip shape)."""
    out = []
    for start in range(0, len(clips), ENCODE_BATCH):
        part = clips[start : start + ENCODE_BATCH]
        pad = ENCODE_BATCH - len(part)
        if pad:
            part = np.concatenate([part, np.repeat(part[-1:], pad, axis=0)])
        out.append(np.asarray(encode(jnp.asarray(part)))[: ENCODE_BATCH - pad])
    return np.concatenate(out)


def _signed(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(to_signed_unit(pixels))


def encode_windows(
    config: ModelConfig,
    components: Components,
    episodes: tuple[Episode, ...],
    windows: list[Window],
    cameras: tuple[str, ...],
) -> EncodedWindows:
    """Run the frozen encoders over ``windows`` of ``episodes`` (see :mod:`.samples`)."""
    check_layout(config)
    dit = config.dit
    graphdef, vae_state = nnx.split(components.vae)
    encode = jax.jit(lambda st, video: nnx.merge(graphdef, st).encode(video))
    vae = lambda video: encode(vae_state, video)  # noqa: E731
    pixels = []
    for w in windows:
        ep = window_episode(episodes, w)
        pixels.append(window_pixels(config, ep.frames, cameras, len(ep), w.call))
    # at a reset the policy encodes [frame, num_frames - 1 zero frames] (build_y): batched here
    resets = first_frame_clip(
        jnp.asarray(_signed(np.stack([reset for reset, _ in pixels]))), config.num_frames
    )
    ys, firsts = y_from_latent(jnp.asarray(_encode_clips(vae, np.asarray(resets))))
    blocks = np.stack([clips for _, clips in pixels])  # [N, blocks, T, 2H, 2W, 3]
    n, nb = blocks.shape[:2]
    block_latents = _encode_clips(vae, _signed(blocks.reshape(n * nb, *blocks.shape[2:])))
    nfpb = dit.num_frame_per_block
    block_latents = block_latents[:, -nfpb:].reshape(n, nb * nfpb, *block_latents.shape[2:])
    prompts = sorted({droid_prompt(e.task) for e in episodes})
    text = TextEncoder(components.tokenizer, components.t5, dit.text_len, dit.text_dim, CompileCounter())
    contexts = np.concatenate([np.asarray(text(p).astype(jnp.float32)) for p in prompts])
    uncond = np.asarray(text(NEGATIVE_PROMPT).astype(jnp.float32)) if config.cfg_scale != 1.0 else None
    return EncodedWindows(
        latents=np.concatenate([np.asarray(firsts), block_latents], axis=1).astype(np.float32),
        y=np.asarray(ys, np.float32),
        task_index=np.array(
            [prompts.index(droid_prompt(episodes[w.episode].task)) for w in windows], np.int32
        ),
        contexts=contexts.astype(np.float32),
        image_features=np.asarray(components.image_features, np.float32),
        episode=np.array([episodes[w.episode].index for w in windows], np.int32),
        uncond_context=uncond,
    )


def _weights_digest(*modules) -> str:
    h = hashlib.sha1()
    for module in modules:
        if module is not None:
            for leaf in jax.tree.leaves(nnx.state(module, nnx.Param)):
                h.update(np.asarray(leaf).tobytes())
    return h.hexdigest()


# Settings the encoders and the window cutting never read: the DiT's architecture and the sampler. A run
# that changes only these (a wider DiT, other patches, more denoising steps) reuses the encode. Anything
# not listed stays in the key, so an unknown new field re-encodes rather than reusing stale latents.
DIT_ONLY_FIELDS = (
    "patch_size", "frame_seqlen", "in_dim", "dim", "ffn_dim", "freq_dim", "out_dim", "num_heads",
    "num_layers", "qk_norm", "cross_attn_norm", "eps", "num_registers", "hidden_size",
    "max_num_embodiments", "sink_size",
)  # fmt: skip
SAMPLER_ONLY_FIELDS = (
    "num_inference_steps",
    "sigma_shift",
    "dit_cache",
    "num_dit_steps",
    "seed",
    "noise_scale",
)
LABEL_ONLY_FIELDS = ("relative_action_dims",)  # labels are recomputed at every load


def encoding_settings(config: ModelConfig) -> dict:
    """The part of ``config`` the cached encoder outputs depend on (see ``DIT_ONLY_FIELDS``)."""
    settings = config.to_dict()
    for name in (*SAMPLER_ONLY_FIELDS, *LABEL_ONLY_FIELDS, "name"):
        settings.pop(name, None)
    settings["dit"] = {k: v for k, v in settings["dit"].items() if k not in DIT_ONLY_FIELDS}
    return settings


def cache_key(config: ModelConfig, dataset: LeRobotDataset, components: Components) -> str:
    """Hash of everything the encoder outputs depend on: the encoding settings, the dataset's metadata and
    the encoders' weights (not the DiT or the labels: a DiT change reuses the encode, labels are recomputed)."""
    h = hashlib.sha1()
    h.update(json.dumps(encoding_settings(config), sort_keys=True).encode())
    h.update((dataset.root / "meta" / "info.json").read_bytes())
    h.update(_weights_digest(components.vae, components.t5).encode())
    h.update(np.asarray(components.image_features).tobytes())
    return h.hexdigest()[:16]


def build_sample_set(
    config: ModelConfig,
    dataset: LeRobotDataset,
    split: str,
    components: Components,
    stats: NormStats,
    cache_dir: Path,
    columns: Columns = DEFAULT_COLUMNS,
    phases: int = 1,
) -> CachedSamples:
    """The windows of ``split`` at ``phases`` offsets (:func:`~.samples.phase_offsets`): encoder outputs from
    the cache when it holds them (one file per offset, so adding phases re-encodes only the new ones),
    labels from the dataset."""
    episodes = dataset.split(split)
    if not episodes:
        raise DatasetError(f"{dataset.root}: split {split!r} has no episodes")
    key = cache_key(config, dataset, components)
    windows, parts = [], []
    for offset in phase_offsets(config.action_horizon, phases):
        part_windows = windows_of(config, episodes, offset)
        suffix = "" if offset == 0 else f"-o{offset}"
        path = Path(cache_dir) / f"{split}-{key}{suffix}.npz"
        if path.is_file():
            encoded = EncodedWindows.load(path)
        else:
            encoded = encode_windows(config, components, episodes, part_windows, columns.cameras)
            path.parent.mkdir(parents=True, exist_ok=True)
            encoded.save(path)
        if len(encoded.latents) != len(part_windows):
            raise DatasetError(
                f"{path}: {len(encoded.latents)} cached windows, the dataset has {len(part_windows)}"
            )
        windows += part_windows
        parts.append(encoded)
    return CachedSamples(concat_encoded(parts), *label_windows(config, episodes, windows, stats))


def concat_encoded(parts: list[EncodedWindows]) -> EncodedWindows:
    """One :class:`EncodedWindows` of several encodes with the same encoders: the phases of one split, or
    the splits of several datasets. Prompt contexts are concatenated and each window's ``task_index``
    shifted to its own part's contexts, so parts with different prompts stay correct."""
    offsets = np.cumsum([0] + [len(p.contexts) for p in parts[:-1]])
    return dataclasses.replace(
        parts[0],
        latents=np.concatenate([p.latents for p in parts]),
        y=np.concatenate([p.y for p in parts]),
        task_index=np.concatenate([p.task_index + o for p, o in zip(parts, offsets, strict=True)]),
        contexts=np.concatenate([p.contexts for p in parts]),
        episode=np.concatenate([p.episode for p in parts]),
    )
