"""Conversion rules: upstream `WanTextEncoder` state dict -> `dreamzero_jax.models.t5.UMT5Encoder` state."""

from __future__ import annotations

from dreamzero_jax.convert.rules import Rule

# WANPolicyHead holds the encoder as `self.text_encoder` and loads the umT5 checkpoint straight into it.
CHECKPOINT_PREFIX = "text_encoder."

_BLOCK = r"blocks\.(\d+)\."

RULES: tuple[Rule, ...] = (
    Rule(r"token_embedding\.weight", "token_embedding.embedding"),
    Rule(_BLOCK + r"attn\.(q|k|v|o)\.weight", r"blocks.\1.attn.\2.kernel", "linear"),
    Rule(_BLOCK + r"ffn\.gate\.0\.weight", r"blocks.\1.ffn.gate.kernel", "linear"),
    Rule(_BLOCK + r"ffn\.(fc1|fc2)\.weight", r"blocks.\1.ffn.\2.kernel", "linear"),
    Rule(_BLOCK + r"(norm1|norm2)\.weight", r"blocks.\1.\2.weight"),
    Rule(_BLOCK + r"pos_embedding\.embedding\.weight", r"blocks.\1.pos_embedding.embedding.embedding"),
    Rule(r"norm\.weight", "norm.weight"),
)
