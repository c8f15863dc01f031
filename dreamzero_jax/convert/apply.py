"""Apply a component's rules: check names/shapes against a (possibly abstract) model and load tensors.

The target is an ``nnx.Module`` (concrete, or abstract from ``nnx.eval_shape``) or an ``nnx.State``.
Only ``nnx.Param`` variables are checkpoint targets. Shapes are checked by running each transform on a
zero-stride stand-in array, so a dry run against ``droid_14b`` allocates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.convert.components import checkpoint_prefixes, component_rules
from dreamzero_jax.convert.components import ignored as is_ignored
from dreamzero_jax.convert.rules import TRANSFORMS, match, source_name, torch_shape
from dreamzero_jax.convert.safetensors_io import CheckpointReader


class ConversionError(Exception):
    """Conversion found missing, unexpected, duplicate or shape-mismatched keys (see ``.report``)."""

    def __init__(self, report: ConversionReport):
        super().__init__("; ".join(report.problem_lines(limit=5)))
        self.report = report


@dataclass
class ConversionReport:
    """What mapping a checkpoint onto one component found. ``ok`` iff every list is empty."""

    component: str
    mapped: int = 0
    missing: list[str] = field(default_factory=list)  # NNX paths no checkpoint tensor maps to
    unexpected: list[str] = field(default_factory=list)  # checkpoint names with no rule / target not in model
    mismatched: list[tuple[str, str, tuple, tuple]] = field(default_factory=list)  # name, target, got, want
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # name, target already mapped
    ignored: list[str] = field(default_factory=list)  # names the rules deliberately drop (IGNORE)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched or self.duplicates)

    def problem_lines(self, limit: int | None = None) -> list[str]:
        # most telling first: a wrong config shows up as shape mismatches before the missing keys
        lines = [f"shape {n} -> {t}: got {g}, model wants {w}" for n, t, g, w in self.mismatched]
        lines += [f"duplicate {n} -> {t}" for n, t in self.duplicates]
        lines += [f"unexpected {n}" for n in self.unexpected]
        lines += [f"missing {p}" for p in self.missing]
        return lines if limit is None else lines[:limit]

    def summary(self) -> str:
        return (
            f"{self.component}: mapped={self.mapped} missing={len(self.missing)} "
            f"unexpected={len(self.unexpected)} mismatched={len(self.mismatched)} duplicates={len(self.duplicates)}"
            f" ignored={len(self.ignored)}"
        )


def _path_str(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def param_table(target: nnx.Module | nnx.State) -> dict[str, nnx.Variable]:
    """NNX path string -> Param variable of ``target`` (values may be ShapeDtypeStructs)."""
    state = nnx.state(target, nnx.Param) if isinstance(target, nnx.Module) else target
    return {_path_str(p): v for p, v in nnx.to_flat_state(state) if isinstance(v, nnx.Param)}


def _shape_of(var: nnx.Variable) -> tuple[int, ...]:
    return tuple(var.get_value().shape)


def _transformed_shape(transform: str, shape: tuple[int, ...], target_shape: tuple[int, ...]) -> tuple:
    # zero strides: transposes and reshapes of this stand-in are views, so nothing of `shape` is allocated
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape, (0,) * len(shape))
    try:
        return tuple(TRANSFORMS[transform](stand_in, target_shape).shape)
    except ValueError:  # e.g. a conv transpose of a tensor with the wrong rank: report it as a mismatch
        return tuple(shape)


def plan(
    shapes: Mapping[str, tuple[int, ...]], component: str, target: nnx.Module | nnx.State
) -> tuple[dict[str, tuple[str, str]], ConversionReport]:
    """Map prefix-stripped checkpoint ``shapes`` onto ``target``: name -> (NNX path, transform), report."""
    rules = component_rules(component).RULES
    table = param_table(target)
    report = ConversionReport(component)
    mapping: dict[str, tuple[str, str]] = {}
    taken: dict[str, str] = {}
    for name, shape in shapes.items():
        if is_ignored(name, component):
            report.ignored.append(name)
            continue
        m = match(rules, name)
        if m is None or m.target not in table:
            report.unexpected.append(name)
            continue
        if m.target in taken:
            report.duplicates.append((name, m.target))
            continue
        want = _shape_of(table[m.target])
        got = _transformed_shape(m.transform, tuple(shape), want)
        if got != want:
            report.mismatched.append((name, m.target, got, want))
            continue
        taken[m.target] = name
        mapping[name] = (m.target, m.transform)
    mismatched_targets = {t for _, t, _, _ in report.mismatched}
    report.missing = [p for p in table if p not in taken and p not in mismatched_targets]
    report.mapped = len(mapping)
    return mapping, report


def route(
    names: Iterable[str], components: Iterable[str], shard_of: Mapping[str, object] | None = None
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Split checkpoint names by component: {component: {stripped name: full name}}, unrouted names.

    Names carrying a component's checkpoint prefix (full VLA checkpoint) go to that component. If no
    name carries any prefix, the checkpoint holds bare component files: each shard (``shard_of`` maps a
    name to its file; default one group) goes to the component whose rules match most of its names.
    """
    names, components = list(names), list(components)
    routed: dict[str, dict[str, str]] = {c: {} for c in components}
    prefixes = sorted(
        ((p, c) for c in components for p in checkpoint_prefixes(c)), key=lambda pc: -len(pc[0])
    )
    unrouted = []
    for n in names:
        hit = next(((p, c) for p, c in prefixes if n.startswith(p)), None)
        if hit:
            routed[hit[1]][n[len(hit[0]) :]] = n
        else:
            unrouted.append(n)
    if any(routed.values()) or not components:
        return routed, unrouted

    groups: dict[object, list[str]] = {}
    for n in names:
        groups.setdefault(shard_of[n] if shard_of else None, []).append(n)
    unrouted = []
    for group in groups.values():

        def score(c: str, group=group) -> int:
            rules = component_rules(c).RULES
            return sum(match(rules, n) is not None or is_ignored(n, c) for n in group)

        best = max(components, key=score)
        if score(best) == 0:
            unrouted += group
        else:
            routed[best].update({n: n for n in group})
    return routed, unrouted


def _fresh_param_state(target: nnx.Module | nnx.State) -> nnx.State:
    state = nnx.state(target, nnx.Param) if isinstance(target, nnx.Module) else target
    return jax.tree.map(lambda x: x, state)  # new Variables: never mutate the caller's state


# (NNX path, shape) -> where that parameter should live, e.g. a NamedSharding from dreamzero_jax.sharding
Placement = Callable[[str, tuple[int, ...]], jax.sharding.Sharding]


def _fill(
    state: nnx.State,
    items: Iterable[tuple[str, np.ndarray]],
    mapping: Mapping[str, tuple[str, str]],
    dtype,
    placement: Placement | None = None,
) -> None:
    table = param_table(state)
    for name, array in items:
        if name not in mapping:
            continue
        path, transform = mapping[name]
        var = table[path]
        shape = _shape_of(var)
        target_dtype = jnp.dtype(dtype or var.get_value().dtype)
        out = np.asarray(TRANSFORMS[transform](array, shape)).astype(target_dtype, copy=False)
        # straight to its final devices: a sharded 14B model never needs one device to hold a full copy
        var.set_value(jax.device_put(out, placement(path, shape)) if placement else jnp.asarray(out))
        del array, out  # drop the host copy before reading the next tensor


def load_streaming(
    target: nnx.Module | nnx.State,
    reader: CheckpointReader,  # or any reader with names/shapes/iter_shards (e.g. convert.lora)
    component: str,
    *,
    names: Mapping[str, str] | None = None,
    dtype=None,
    strict: bool = True,
    placement: Placement | None = None,
) -> tuple[nnx.State, ConversionReport]:
    """Load ``component`` from ``reader`` shard by shard into a new Param state of ``target``.

    ``names`` maps prefix-stripped names to checkpoint names (default: route all names). Each tensor is
    read, transformed, cast (to ``dtype`` or the target's dtype) and put on its device(s) (``placement``,
    default JAX's default device) before the next is read. With ``strict`` a ConversionError is raised
    unless the report is clean; a Module ``target`` is updated in place on success.
    """
    if names is None:
        names = route(reader.names(), [component])[0][component]
    shapes = reader.shapes()
    mapping, report = plan({s: shapes[f] for s, f in names.items()}, component, target)
    if strict and not report.ok:
        raise ConversionError(report)
    full_mapping = {names[s]: t for s, t in mapping.items()}
    state = _fresh_param_state(target)
    for shard in reader.iter_shards(set(full_mapping)):
        _fill(state, shard, full_mapping, dtype, placement)
    if isinstance(target, nnx.Module) and report.ok:
        nnx.update(target, state)
    return state, report


def load_into(
    target: nnx.Module | nnx.State,
    tensors: Mapping[str, np.ndarray],
    component: str,
    *,
    dtype=None,
    strict: bool = True,
) -> nnx.State:
    """Load in-memory, prefix-stripped PyTorch ``tensors`` of ``component`` into ``target``.

    Returns the Param state (``nnx.merge(graphdef, state)`` for an abstract target); a Module target is
    also updated in place. Raises ConversionError if any key is missing, unexpected or mis-shaped.
    """
    mapping, report = plan({k: tuple(v.shape) for k, v in tensors.items()}, component, target)
    if strict and not report.ok:
        raise ConversionError(report)
    state = _fresh_param_state(target)
    _fill(state, tensors.items(), mapping, dtype)
    if isinstance(target, nnx.Module):
        nnx.update(target, state)
    return state


def expected_checkpoint_shapes(component: str, target: nnx.Module | nnx.State) -> dict[str, tuple[int, ...]]:
    """The PyTorch name -> shape table that would load exactly into ``target`` (rules run in reverse).

    Lets a dry run of a large config (``droid_14b``) be tested without the real checkpoint. Raises
    ValueError for a Param that no rule can produce.
    """
    rules = component_rules(component).RULES
    out: dict[str, tuple[int, ...]] = {}
    for path, var in param_table(target).items():
        for rule in rules:
            name = source_name(rule, path)
            if name is not None and match(rules, name).rule is rule:
                out[name] = torch_shape(rule, _shape_of(var))
                break
        else:
            raise ValueError(f"{component}: no rule produces the model parameter {path}")
    return out
