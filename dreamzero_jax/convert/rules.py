"""Rule-based mapping from original PyTorch parameter names to NNX state paths.

Every component of DreamZero (the DiT, the video VAE, umT5, CLIP) has a module
``dreamzero_jax/convert/rules_<component>.py`` that exposes:

* ``RULES: tuple[Rule, ...]`` -- one rule per parameter family; the first rule whose ``pattern``
  full-matches a (prefix-stripped) PyTorch name wins.
* ``CHECKPOINT_PREFIX: str`` -- the prefix the component's names carry inside a full VLA checkpoint,
  e.g. ``"action_head.model."`` for the DiT (bare component files carry no prefix).
* optionally ``IGNORE: tuple[str, ...]`` -- regexes of checkpoint names the port deliberately drops
  (parameters upstream never uses); they are neither loaded nor reported as unexpected.

:mod:`dreamzero_jax.convert.components` maps component names to these modules.

Targets are NNX flat-state paths: the path elements of ``nnx.to_flat_state(nnx.state(model))`` joined
with ``"."`` (list indices become their decimal string), e.g. ``"blocks.0.self_attn.q.kernel"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rule:
    """Map PyTorch names matching ``pattern`` to the NNX path ``target`` through ``transform``.

    ``pattern`` is a regex full-matched against the prefix-stripped PyTorch name; ``target`` may use
    its backrefs (``\\1``). ``transform`` is a key of :data:`TRANSFORMS`. ``source_shape`` is needed only
    for non-invertible transforms (``squeeze``, ``reshape``) when computing the checkpoint shape a
    target implies (:func:`dreamzero_jax.convert.apply.expected_checkpoint_shapes`): it maps the target
    shape to the PyTorch shape, e.g. ``lambda s: (s[0], 1, 1, 1)`` for a VAE ``gamma``.
    """

    pattern: str
    target: str
    transform: str = "none"
    source_shape: Callable[[tuple[int, ...]], tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.transform!r}; valid: {sorted(TRANSFORMS)}")
        re.compile(self.pattern)


Transform = Callable[[np.ndarray, tuple[int, ...]], np.ndarray]


def _none(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    return x


def _linear(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    # nn.Linear stores [out, in]; nnx.Linear's kernel is [in, out].
    return np.swapaxes(x, -1, -2)


def _conv3d(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    # torch Conv3d [O, I, T, H, W] -> channels-last [T, H, W, I, O].
    return np.transpose(x, (2, 3, 4, 1, 0))


def _conv2d(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    # torch Conv2d [O, I, H, W] -> channels-last [H, W, I, O].
    return np.transpose(x, (2, 3, 1, 0))


def _squeeze(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    squeezed = np.squeeze(x)
    # keep size-1 dims the target wants (e.g. [1, 1, C] modulation tables) by reshaping after squeezing
    return squeezed.reshape(target_shape) if squeezed.size == int(np.prod(target_shape)) else squeezed


def _reshape(x: np.ndarray, target_shape: tuple[int, ...]) -> np.ndarray:
    return x.reshape(target_shape) if x.size == int(np.prod(target_shape)) else x


TRANSFORMS: dict[str, Transform] = {
    "none": _none,
    "linear": _linear,
    "conv3d": _conv3d,
    "conv2d": _conv2d,
    "squeeze": _squeeze,
    "reshape": _reshape,
}

# target shape -> PyTorch shape, for the invertible transforms (see Rule.source_shape for the others)
INVERSE_SHAPES: dict[str, Callable[[tuple[int, ...]], tuple[int, ...]]] = {
    "none": lambda s: tuple(s),
    "linear": lambda s: (*s[:-2], s[-1], s[-2]),
    "conv3d": lambda s: (s[4], s[3], s[0], s[1], s[2]),
    "conv2d": lambda s: (s[3], s[2], s[0], s[1]),
}


@dataclass(frozen=True)
class Match:
    target: str
    transform: str
    rule: Rule


def match(rules: tuple[Rule, ...], name: str) -> Match | None:
    """Apply the first rule whose pattern full-matches ``name``; None when no rule does."""
    for rule in rules:
        m = re.fullmatch(rule.pattern, name)
        if m:
            return Match(m.expand(rule.target), rule.transform, rule)
    return None


_GROUP = re.compile(r"\((?!\?)[^()]*\)")


def source_name(rule: Rule, target: str) -> str | None:
    """Invert ``rule``: the PyTorch name that maps to ``target``, or None if the rule cannot produce it.

    Supports patterns made of escaped literals and non-nested capture groups, which is what
    name-mapping rules need. The result is verified by matching it forward again.
    """
    # target template -> regex whose groups capture the backref values
    pieces = re.split(r"\\(\d+)", rule.target)
    regex, seen = "", set()
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            regex += re.escape(piece)
        elif piece in seen:
            regex += f"(?P=g{piece})"
        else:
            seen.add(piece)
            regex += f"(?P<g{piece}>[^.]+)"
    m = re.fullmatch(regex, target)
    if m is None:
        return None
    values = {int(k[1:]): v for k, v in m.groupdict().items()}
    # pattern -> name: fill capture groups in order, unescape literals
    out, pos = "", 0
    for idx, g in enumerate(_GROUP.finditer(rule.pattern), start=1):
        out += re.sub(r"\\(.)", r"\1", rule.pattern[pos : g.start()])
        if idx not in values:
            return None
        out += values[idx]
        pos = g.end()
    out += re.sub(r"\\(.)", r"\1", rule.pattern[pos:])
    if not re.fullmatch(rule.pattern, out) or re.fullmatch(rule.pattern, out).expand(rule.target) != target:
        return None
    return out


def torch_shape(rule: Rule, target_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The PyTorch shape that ``rule`` turns into ``target_shape``."""
    if rule.source_shape is not None:
        return tuple(rule.source_shape(tuple(target_shape)))
    if rule.transform in INVERSE_SHAPES:
        return INVERSE_SHAPES[rule.transform](tuple(target_shape))
    raise ValueError(f"rule {rule.pattern!r}: transform {rule.transform!r} needs source_shape to be inverted")
