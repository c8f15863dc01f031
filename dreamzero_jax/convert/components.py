"""Component name -> its rules module (``rules_<component>.py``), and what the converter reads from it.

Each rules module exposes ``RULES`` (tuple of :class:`~dreamzero_jax.convert.rules.Rule`),
``CHECKPOINT_PREFIX`` and optionally ``IGNORE`` (regexes of checkpoint names deliberately dropped). The
model each component is built into is :data:`dreamzero_jax.checkpoint.models.MODEL_CLASSES`.
"""

from __future__ import annotations

import re
from types import ModuleType

from dreamzero_jax.convert import rules_clip, rules_dit, rules_t5, rules_vae

RULES_MODULES: dict[str, ModuleType] = {
    "dit": rules_dit,
    "vae": rules_vae,
    "t5": rules_t5,
    "clip": rules_clip,
}


def component_rules(name: str) -> ModuleType:
    """The rules module of component ``name``; KeyError naming the valid components otherwise."""
    if name not in RULES_MODULES:
        raise KeyError(f"unknown component {name!r}; valid: {', '.join(RULES_MODULES)}")
    return RULES_MODULES[name]


def checkpoint_prefixes(name: str) -> tuple[str, ...]:
    """Prefixes under which component ``name`` appears in a full checkpoint (most specific first)."""
    prefix = getattr(component_rules(name), "CHECKPOINT_PREFIX", "")
    if not prefix:
        return ()
    # the encoders README documents prefixes relative to the head; the VLA nests the head as action_head
    return (prefix,) if prefix.startswith("action_head.") else ("action_head." + prefix, prefix)


def ignored(name: str, component: str) -> bool:
    """True when ``component``'s rules list ``name`` (prefix-stripped) as deliberately dropped."""
    return any(re.fullmatch(p, name) for p in getattr(component_rules(component), "IGNORE", ()))
