"""Wan2.1 video VAE configurations (upstream `VideoVAE_` kwargs) and DreamZero's latent normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Per-channel statistics of Wan2.1 latents, hard-coded in upstream `WanVideoVAE.__init__` (16 channels).
WAN21_LATENT_MEAN: tuple[float, ...] = (
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
)  # fmt: skip
WAN21_LATENT_STD: tuple[float, ...] = (
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
)  # fmt: skip


@dataclass(frozen=True)
class VAEConfig:
    """Shape of a Wan2.1 causal video VAE (8x spatial, 4x temporal compression for the default layout)."""

    dim: int
    z_dim: int = 16
    dim_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    attn_scales: tuple[float, ...] = ()
    temporal_downsample: tuple[bool, ...] = (False, True, True)  # upstream spells it `temperal_downsample`
    latent_mean: tuple[float, ...] = WAN21_LATENT_MEAN
    latent_std: tuple[float, ...] = WAN21_LATENT_STD
    norm_eps: float = 1e-12  # F.normalize's default eps inside RMS_norm

    def __post_init__(self) -> None:
        if len(self.temporal_downsample) != len(self.dim_mult) - 1:
            raise ValueError("temporal_downsample needs one entry per downsampling stage (len(dim_mult) - 1)")
        if len(self.latent_mean) != self.z_dim or len(self.latent_std) != self.z_dim:
            raise ValueError(f"latent_mean/latent_std need z_dim={self.z_dim} entries")

    @property
    def temporal_upsample(self) -> tuple[bool, ...]:
        return self.temporal_downsample[::-1]

    @property
    def spatial_factor(self) -> int:
        return 2 ** (len(self.dim_mult) - 1)

    @property
    def temporal_factor(self) -> int:
        return 2 ** sum(self.temporal_downsample)

    @property
    def inv_std(self) -> np.ndarray:
        # upstream keeps `1.0 / std` as a float32 tensor; encode multiplies by it and decode divides by it
        return np.float32(1.0) / np.asarray(self.latent_std, np.float32)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.latent_mean, np.float32)


# Fixture size (`dreamzero_tiny_encoders/vae_config.json`): every width is the real one / 12.
TINY = VAEConfig(dim=8)
# Wan2.1_VAE.pth as loaded by DreamZero-DROID (126.9 M parameters).
DROID_14B = VAEConfig(dim=96)

VAE_CONFIGS: dict[str, VAEConfig] = {"tiny": TINY, "droid_14b": DROID_14B}
