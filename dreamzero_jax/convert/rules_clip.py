"""Conversion rules: upstream `XLMRobertaCLIP` state dict (vision tower) -> `models.clip.CLIPVision` state."""

from __future__ import annotations

from dreamzero_jax.convert.rules import Rule

# WANPolicyHead holds `self.image_encoder` (a WanImageEncoder) whose `.model` is the XLMRobertaCLIP.
CHECKPOINT_PREFIX = "image_encoder.model."

_BLOCK = r"visual\.transformer\.(\d+)\."

RULES: tuple[Rule, ...] = (
    Rule(r"visual\.patch_embedding\.weight", "patch_embedding.kernel", "conv2d"),
    Rule(r"visual\.(cls_embedding|pos_embedding)", r"\1"),
    Rule(r"visual\.pre_norm\.weight", "pre_norm.scale"),
    Rule(r"visual\.pre_norm\.bias", "pre_norm.bias"),
    Rule(_BLOCK + r"(norm1|norm2)\.weight", r"blocks.\1.\2.scale"),
    Rule(_BLOCK + r"(norm1|norm2)\.bias", r"blocks.\1.\2.bias"),
    Rule(_BLOCK + r"attn\.(to_qkv|proj)\.weight", r"blocks.\1.attn.\2.kernel", "linear"),
    Rule(_BLOCK + r"attn\.(to_qkv|proj)\.bias", r"blocks.\1.attn.\2.bias"),
    Rule(_BLOCK + r"mlp\.0\.weight", r"blocks.\1.mlp.fc1.kernel", "linear"),
    Rule(_BLOCK + r"mlp\.0\.bias", r"blocks.\1.mlp.fc1.bias"),
    Rule(_BLOCK + r"mlp\.2\.weight", r"blocks.\1.mlp.fc2.kernel", "linear"),
    Rule(_BLOCK + r"mlp\.2\.bias", r"blocks.\1.mlp.fc2.bias"),
)

# Known and intentionally dropped: in the checkpoint but never used by DreamZero's forward (`encode_image`
# stops before post_norm/head; log_scale belongs to CLIP's contrastive loss). The open-CLIP file's
# `textual.*` (XLM-RoBERTa) keys are ignored upstream too (`textual = None`, strict=False).
IGNORE: tuple[str, ...] = (
    r"log_scale",
    r"visual\.head",
    r"visual\.post_norm\.(weight|bias)",
    r"textual\..*",
)
