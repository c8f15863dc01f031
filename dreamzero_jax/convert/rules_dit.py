"""Name mapping from upstream ``CausalWanModel`` parameters to :class:`~dreamzero_jax.models.dit.CausalWanDiT`.

Most names carry over unchanged; ``torch.nn.Sequential`` indices become named layers
(``ffn.0`` -> ``ffn.fc1``, ``img_emb.proj.1`` -> ``img_emb.fc1``, ...), Linear weights are transposed to
``kernel``, the Conv3d patch embedding becomes a channels-last kernel, and the category-specific
``W``/``b`` tensors are copied as they are.
"""

from __future__ import annotations

from dreamzero_jax.convert.rules import Rule

CHECKPOINT_PREFIX = "action_head.model."

_B = r"blocks\.(\d+)\."

RULES: tuple[Rule, ...] = (
    # transformer blocks: attention projections (self and cross, including the CLIP-image k/v)
    Rule(_B + r"(self_attn|cross_attn)\.(q|k|v|o|k_img|v_img)\.weight", r"blocks.\1.\2.\3.kernel", "linear"),
    Rule(_B + r"(self_attn|cross_attn)\.(q|k|v|o|k_img|v_img)\.bias", r"blocks.\1.\2.\3.bias"),
    Rule(_B + r"(self_attn|cross_attn)\.(norm_q|norm_k|norm_k_img)\.weight", r"blocks.\1.\2.\3.weight"),
    Rule(_B + r"norm3\.(weight|bias)", r"blocks.\1.norm3.\2"),
    Rule(_B + r"ffn\.0\.weight", r"blocks.\1.ffn.fc1.kernel", "linear"),
    Rule(_B + r"ffn\.0\.bias", r"blocks.\1.ffn.fc1.bias"),
    Rule(_B + r"ffn\.2\.weight", r"blocks.\1.ffn.fc2.kernel", "linear"),
    Rule(_B + r"ffn\.2\.bias", r"blocks.\1.ffn.fc2.bias"),
    Rule(_B + r"modulation", r"blocks.\1.modulation"),
    # embeddings
    Rule(r"patch_embedding\.weight", "patch_embedding.kernel", "conv3d"),
    Rule(r"patch_embedding\.bias", "patch_embedding.bias"),
    Rule(r"(text_embedding|time_embedding)\.0\.weight", r"\1.fc1.kernel", "linear"),
    Rule(r"(text_embedding|time_embedding)\.0\.bias", r"\1.fc1.bias"),
    Rule(r"(text_embedding|time_embedding)\.2\.weight", r"\1.fc2.kernel", "linear"),
    Rule(r"(text_embedding|time_embedding)\.2\.bias", r"\1.fc2.bias"),
    Rule(r"time_projection\.1\.weight", "time_projection.kernel", "linear"),
    Rule(r"time_projection\.1\.bias", "time_projection.bias"),
    # CLIP-image projection (MLPProj: LayerNorm, Linear, GELU, Linear, LayerNorm)
    Rule(r"img_emb\.proj\.0\.(weight|bias)", r"img_emb.norm_in.\1"),
    Rule(r"img_emb\.proj\.1\.weight", "img_emb.fc1.kernel", "linear"),
    Rule(r"img_emb\.proj\.1\.bias", "img_emb.fc1.bias"),
    Rule(r"img_emb\.proj\.3\.weight", "img_emb.fc2.kernel", "linear"),
    Rule(r"img_emb\.proj\.3\.bias", "img_emb.fc2.bias"),
    Rule(r"img_emb\.proj\.4\.(weight|bias)", r"img_emb.norm_out.\1"),
    # output head
    Rule(r"head\.head\.weight", "head.head.kernel", "linear"),
    Rule(r"head\.head\.bias", "head.head.bias"),
    Rule(r"head\.modulation", "head.modulation"),
    # category-specific action/state modules: [categories, in, out] weights are already x @ W layout
    Rule(r"(action_encoder)\.(W1|W2|W3)\.(W|b)", r"\1.\2.\3"),
    Rule(r"(state_encoder|action_decoder)\.(layer1|layer2)\.(W|b)", r"\1.\2.\3"),
)
