"""Configuration of the DreamZero diffusion transformer (upstream ``CausalWanModel``).

Every constructor knob of the original is a field here, under the original's name. Named variants:

* ``tiny``      -- the reference fixtures' model (``../shared/fixtures/dreamzero_tiny/config.json``).
* ``droid_14b`` -- DreamZero-DROID (Wan2.1-I2V-14B backbone) as trained by ``scripts/train/droid_training_*.sh``.
* ``bench``     -- a mid-sized model for benchmarks (dim 256, 4 layers, 16x16 latents -> 64 tokens/frame).
"""

from __future__ import annotations

from dataclasses import dataclass

# Fixed by upstream: the I2V cross-attention splits its context at 257 CLIP tokens, and img_emb is
# MLPProj(1280, dim) regardless of the model size.
CLIP_TOKENS = 257
CLIP_DIM = 1280
ROPE_THETA = 10000.0
# Upstream RoPE table sizes (rows): video axes, action tokens, state tokens.
ROPE_VIDEO_ROWS = 1024
ROPE_ACTION_ROWS = 1024 * 10
ROPE_STATE_ROWS = 1024
# Upstream overrides max_num_embodiments with 1 before building the category-specific layers, so
# every checkpoint holds exactly one category, whatever the config says.
BUILT_CATEGORIES = 1


@dataclass(frozen=True)
class DiTConfig:
    """Constructor arguments of ``CausalWanModel`` (same names and meanings) plus derived sizes."""

    model_type: str = "i2v"
    patch_size: tuple[int, int, int] = (1, 2, 2)
    frame_seqlen: int = 880  # tokens per latent frame after patching
    text_len: int = 512
    in_dim: int = 36  # 16 noisy latent + 4 mask + 16 image-latent channels
    dim: int = 5120
    ffn_dim: int = 13824
    freq_dim: int = 256
    text_dim: int = 4096
    out_dim: int = 16
    num_heads: int = 40
    num_layers: int = 40
    max_chunk_size: int = 4  # -1: global attention; else local window of max_chunk_size*nfpb+1 frames
    sink_size: int = 0  # accepted like upstream, which never uses it in this model
    qk_norm: bool = True
    cross_attn_norm: bool = True
    eps: float = 1e-6
    num_frame_per_block: int = 2
    action_dim: int = 32
    num_registers: int = 8  # accepted like upstream; unused by the model
    max_state_dim: int = 64
    max_num_embodiments: int = 32  # accepted like upstream; see BUILT_CATEGORIES
    hidden_size: int = 1024  # hidden width of the state encoder / action decoder MLPs
    num_action_per_block: int = 24
    num_state_per_block: int = 1
    concat_first_frame_latent: bool = True

    def __post_init__(self) -> None:
        if self.dim % self.num_heads or (self.dim // self.num_heads) % 2:
            raise ValueError(f"dim {self.dim} must split into {self.num_heads} heads of even size")
        if self.model_type != "i2v":
            raise ValueError(f"model_type {self.model_type!r} is not supported (only 'i2v')")

    @property
    def head_dim(self) -> int:
        return self.dim // self.num_heads

    @property
    def local_attn_size(self) -> int:
        """Attention window in latent frames (-1 = global), as upstream derives it."""
        return -1 if self.max_chunk_size == -1 else self.max_chunk_size * self.num_frame_per_block + 1

    @property
    def max_attention_size(self) -> int:
        """KV-cache window in tokens; upstream uses 21 frames when attention is global."""
        frames = 21 if self.local_attn_size == -1 else self.local_attn_size
        return frames * self.frame_seqlen

    @property
    def rope_split(self) -> tuple[int, int, int]:
        """Head-dim channels rotated by (time, height, width) in the 3-D video RoPE."""
        d = self.head_dim
        return (d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6))

    @property
    def patch_dim_out(self) -> int:
        p = self.patch_size
        return p[0] * p[1] * p[2] * self.out_dim

    @classmethod
    def tiny(cls) -> DiTConfig:
        """The fixtures' tiny model: 2 layers, dim 64, 24 tokens per latent frame (8x12 latents)."""
        return cls(
            frame_seqlen=24,
            text_len=16,
            dim=64,
            ffn_dim=160,
            freq_dim=32,
            text_dim=48,
            num_heads=2,
            num_layers=2,
            max_chunk_size=2,
            action_dim=8,
            max_state_dim=12,
            hidden_size=40,
            num_action_per_block=4,
        )

    @classmethod
    def droid_14b(cls) -> DiTConfig:
        """DreamZero-DROID: Wan2.1-I2V-14B dims; 24 actions per block (the training scripts' value)."""
        return cls()

    @classmethod
    def bench(cls) -> DiTConfig:
        """Benchmark size: dim 256, 4 layers, 4 heads, 64 tokens per frame (16x16 latents)."""
        return cls(
            frame_seqlen=64,
            text_len=32,
            dim=256,
            ffn_dim=1024,
            freq_dim=256,
            text_dim=256,
            num_heads=4,
            num_layers=4,
            action_dim=32,
            max_state_dim=64,
            hidden_size=256,
            num_action_per_block=32,
        )


DIT_CONFIGS: dict[str, DiTConfig] = {
    "tiny": DiTConfig.tiny(),
    "droid_14b": DiTConfig.droid_14b(),
    "bench": DiTConfig.bench(),
}
