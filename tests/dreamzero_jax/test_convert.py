"""The conversion framework on a toy component: rules, transforms, reports, readers, orbax round trip."""

from __future__ import annotations

import json
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import save_file

from dreamzero_jax.checkpoint.orbax_io import restore_state, save_state
from dreamzero_jax.convert import components
from dreamzero_jax.convert.apply import (
    ConversionError,
    expected_checkpoint_shapes,
    load_into,
    load_streaming,
    plan,
    route,
)
from dreamzero_jax.convert.rules import Rule, source_name
from dreamzero_jax.convert.safetensors_io import CheckpointError, CheckpointReader


class Toy(nnx.Module):
    """Two linear blocks, a channels-last conv and a squeezed scale: every transform kind."""

    def __init__(self, rngs: nnx.Rngs):
        self.blocks = nnx.List([nnx.Linear(3, 5, rngs=rngs) for _ in range(2)])
        self.conv = nnx.Conv(4, 6, kernel_size=(1, 2, 2), rngs=rngs)
        self.gamma = nnx.Param(jnp.ones((6,)))


TOY_RULES = (
    Rule(r"blocks\.(\d+)\.weight", r"blocks.\1.kernel", "linear"),
    Rule(r"blocks\.(\d+)\.bias", r"blocks.\1.bias"),
    Rule(r"patch\.weight", "conv.kernel", "conv3d"),
    Rule(r"patch\.bias", "conv.bias"),
    Rule(r"gamma", "gamma", "squeeze", lambda s: (s[0], 1, 1, 1)),
)


@pytest.fixture
def toy(monkeypatch):
    """Register component 'toy' (prefix 'head.toy.') for the duration of a test."""
    mod = types.ModuleType("toy_rules_for_tests")
    mod.RULES, mod.CHECKPOINT_PREFIX, mod.IGNORE = TOY_RULES, "head.toy.", (r"unused\..*",)
    monkeypatch.setitem(components.RULES_MODULES, "toy", mod)
    return "toy"


def torch_tensors(seed: int = 0) -> dict[str, np.ndarray]:
    r = np.random.default_rng(seed)
    t = {f"blocks.{i}.weight": r.normal(size=(5, 3)).astype(np.float32) for i in range(2)}
    t |= {f"blocks.{i}.bias": r.normal(size=(5,)).astype(np.float32) for i in range(2)}
    t["patch.weight"] = r.normal(size=(6, 4, 1, 2, 2)).astype(np.float32)  # torch Conv3d [O, I, T, H, W]
    t["patch.bias"] = r.normal(size=(6,)).astype(np.float32)
    t["gamma"] = r.normal(size=(6, 1, 1, 1)).astype(np.float32)
    return t


def test_load_into_applies_each_transform(toy):
    t = torch_tensors()
    model = Toy(nnx.Rngs(1))
    load_into(model, t, toy)
    np.testing.assert_array_equal(model.blocks[1].kernel[...], t["blocks.1.weight"].T)
    np.testing.assert_array_equal(model.blocks[0].bias[...], t["blocks.0.bias"])
    # conv3d: kernel[t, h, w, i, o] == weight[o, i, t, h, w]
    k, w = np.asarray(model.conv.kernel[...]), t["patch.weight"]
    assert k[0, 1, 0, 3, 5] == w[5, 3, 0, 1, 0]
    np.testing.assert_array_equal(model.gamma[...], t["gamma"].reshape(6))
    # the loaded model computes x @ W^T + b like torch's Linear
    x = np.arange(3, dtype=np.float32)
    np.testing.assert_allclose(
        model.blocks[0](jnp.asarray(x)), t["blocks.0.weight"] @ x + t["blocks.0.bias"], rtol=1e-6
    )


def test_load_into_abstract_model_gives_mergeable_state(toy):
    abstract = nnx.eval_shape(lambda: Toy(nnx.Rngs(0)))
    state = load_into(abstract, torch_tensors(), toy, dtype=jnp.bfloat16)
    leaves = jax.tree.leaves(state)
    assert all(isinstance(x, jax.Array) and x.dtype == jnp.bfloat16 for x in leaves)
    graphdef, _ = nnx.split(abstract)
    model = nnx.merge(graphdef, state)
    assert model.blocks[0].kernel[...].shape == (3, 5)


def test_report_lists_missing_unexpected_mismatched_and_ignored(toy):
    t = torch_tensors()
    del t["blocks.1.bias"]
    t["blocks.0.weight"] = np.zeros((5, 4), np.float32)  # wrong in-features
    t["extra.weight"] = np.zeros(2, np.float32)
    t["blocks.7.weight"] = np.zeros((5, 3), np.float32)  # rule matches, no such block
    t["patch.weight"] = np.zeros((6, 4), np.float32)  # wrong rank for the conv3d transpose
    t["unused.thing"] = np.zeros(1, np.float32)
    _, report = plan({k: v.shape for k, v in t.items()}, toy, nnx.eval_shape(lambda: Toy(nnx.Rngs(0))))
    assert report.missing == ["blocks.1.bias"]
    assert sorted(report.unexpected) == ["blocks.7.weight", "extra.weight"]
    assert [(n, tgt, got, want) for n, tgt, got, want in report.mismatched] == [
        ("blocks.0.weight", "blocks.0.kernel", (4, 5), (3, 5)),
        ("patch.weight", "conv.kernel", (6, 4), (1, 2, 2, 4, 6)),
    ]
    assert report.ignored == ["unused.thing"] and not report.ok
    with pytest.raises(ConversionError, match=r"missing blocks\.1\.bias"):
        load_into(Toy(nnx.Rngs(0)), t, toy)


def test_rules_invert_to_the_checkpoint_table(toy):
    assert source_name(TOY_RULES[0], "blocks.12.kernel") == "blocks.12.weight"
    assert source_name(TOY_RULES[0], "conv.kernel") is None
    abstract = nnx.eval_shape(lambda: Toy(nnx.Rngs(0)))
    expected = expected_checkpoint_shapes(toy, abstract)
    assert expected == {k: v.shape for k, v in torch_tensors().items()}
    assert plan(expected, toy, abstract)[1].ok


def test_reader_file_index_and_directory_stream_identically(toy, tmp_path):
    t = torch_tensors()
    full = {"head.toy." + k: v for k, v in t.items()} | {"other.weight": np.ones(2, np.float32)}
    names = sorted(full)
    shard_a, shard_b = dict.fromkeys(names[:3]), dict.fromkeys(names[3:])
    save_file({k: full[k] for k in shard_a}, str(tmp_path / "m-00001.safetensors"))
    save_file({k: full[k] for k in shard_b}, str(tmp_path / "m-00002.safetensors"))
    index = {
        "weight_map": {k: "m-00001.safetensors" for k in shard_a}
        | {k: "m-00002.safetensors" for k in shard_b}
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))

    for path in (tmp_path / "model.safetensors.index.json", tmp_path):
        reader = CheckpointReader(path)
        assert len(reader.shards) == 2 and reader.shapes()["head.toy.gamma"] == (6, 1, 1, 1)
        routed, unrouted = route(reader.names(), [toy])
        assert unrouted == ["other.weight"] and set(routed[toy]) == set(t)
        state, report = load_streaming(
            nnx.eval_shape(lambda: Toy(nnx.Rngs(0))), reader, toy, names=routed[toy]
        )
        assert report.ok and report.mapped == len(t)
        ref = load_into(nnx.eval_shape(lambda: Toy(nnx.Rngs(0))), t, toy)
        jax.tree.map(np.testing.assert_array_equal, nnx.to_pure_dict(state), nnx.to_pure_dict(ref))


def test_route_sends_bare_files_to_the_best_matching_component(toy):
    routed, unrouted = route(list(torch_tensors()), [toy])
    assert unrouted == [] and routed[toy]["patch.bias"] == "patch.bias"
    routed, unrouted = route(["nothing.matches"], [toy])
    assert unrouted == ["nothing.matches"] and routed[toy] == {}


def test_reader_errors_are_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        CheckpointReader(tmp_path / "absent.safetensors")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CheckpointError, match="weight_map"):
        CheckpointReader(tmp_path / "bad.json")
    with pytest.raises(CheckpointError, match=r"no \.safetensors"):
        CheckpointReader(tmp_path)


def test_orbax_round_trip_is_exact_and_casts(tmp_path):
    state = nnx.state(Toy(nnx.Rngs(3)), nnx.Param)
    save_state(tmp_path / "f32", state)
    abstract = nnx.state(nnx.eval_shape(lambda: Toy(nnx.Rngs(0))), nnx.Param)
    back = restore_state(tmp_path / "f32", abstract)
    jax.tree.map(np.testing.assert_array_equal, nnx.to_pure_dict(back), nnx.to_pure_dict(state))
    save_state(tmp_path / "bf16", state, dtype=jnp.bfloat16)
    pure = restore_state(tmp_path / "bf16")
    assert pure["blocks"]["0"]["kernel"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(pure["conv"]["kernel"], state["conv"]["kernel"][...].astype(jnp.bfloat16))


def test_unknown_transform_is_rejected():
    with pytest.raises(ValueError, match="unknown transform"):
        Rule("a", "b", "transpose")


def test_bf16_checkpoints_load_without_torch(toy, tmp_path):
    """The real DreamZero checkpoint is bfloat16: read through safetensors.numpy, cast to the model dtype."""
    import ml_dtypes

    t = {k: v.astype(ml_dtypes.bfloat16) for k, v in torch_tensors().items()}
    save_file(t, str(tmp_path / "bf16.safetensors"))
    reader = CheckpointReader(tmp_path / "bf16.safetensors")
    assert reader.infos()["gamma"].dtype == "BF16"
    state, report = load_streaming(nnx.eval_shape(lambda: Toy(nnx.Rngs(0))), reader, toy)
    assert report.ok
    kernel = state["blocks"][0]["kernel"][...]
    assert kernel.dtype == jnp.float32
    np.testing.assert_array_equal(kernel, t["blocks.0.weight"].astype(np.float32).T)


def test_streaming_puts_each_tensor_where_placement_says(toy, tmp_path):
    save_file(torch_tensors(), str(tmp_path / "w.safetensors"))
    device = jax.devices()[-1]
    asked = []

    def placement(path, shape):
        asked.append((path, shape))
        return jax.sharding.SingleDeviceSharding(device)

    abstract = nnx.eval_shape(lambda: Toy(nnx.Rngs(0)))
    state, _ = load_streaming(
        abstract, CheckpointReader(tmp_path / "w.safetensors"), toy, placement=placement
    )
    assert ("conv.kernel", (1, 2, 2, 4, 6)) in asked and len(asked) == 7
    assert all(x.devices() == {device} for x in jax.tree.leaves(state))


def test_peft_lora_checkpoints_are_folded_into_the_base_weights(toy, tmp_path):
    """PEFT names (base_model.model..., base_layer, lora_A/B) load as W + scale * B @ A, across shards."""
    from dreamzero_jax.convert.lora import fold_lora

    t = torch_tensors()
    r = np.random.default_rng(5)
    a, b = r.normal(size=(2, 3)).astype(np.float32), r.normal(size=(5, 2)).astype(np.float32)
    wrapped = {"head.toy.base_model.model." + k: v for k, v in t.items() if k != "blocks.0.weight"}
    wrapped["head.toy.base_model.model.blocks.0.base_layer.weight"] = t["blocks.0.weight"]
    save_file(wrapped, str(tmp_path / "a.safetensors"))
    save_file(
        {
            "head.toy.base_model.model.blocks.0.lora_A.default.weight": a,
            "head.toy.base_model.model.blocks.0.lora_B.default.weight": b,
        },
        str(tmp_path / "b.safetensors"),
    )
    reader = fold_lora(CheckpointReader(tmp_path), scale=0.5)
    assert "head.toy.blocks.0.weight" in reader.names() and reader.shapes()["head.toy.blocks.0.weight"] == (
        5,
        3,
    )
    state, report = load_streaming(nnx.eval_shape(lambda: Toy(nnx.Rngs(0))), reader, toy)
    assert report.ok, report.problem_lines()
    np.testing.assert_allclose(
        state["blocks"][0]["kernel"][...], (t["blocks.0.weight"] + 0.5 * b @ a).T, rtol=1e-6
    )
    np.testing.assert_array_equal(state["blocks"][1]["kernel"][...], t["blocks.1.weight"].T)
    # an adapter without its partner is not merged silently: its raw names surface as unexpected
    save_file(
        {"head.toy.base_model.model.blocks.0.lora_A.default.weight": a}, str(tmp_path / "b.safetensors")
    )
    reader = fold_lora(CheckpointReader(tmp_path))
    routed, _ = route(reader.names(), [toy])
    shapes = reader.shapes()
    _, report = plan(
        {s: shapes[f] for s, f in routed[toy].items()}, toy, nnx.eval_shape(lambda: Toy(nnx.Rngs(0)))
    )
    assert "base_model.model.blocks.0.lora_A.default.weight" in report.unexpected
    assert "blocks.0.kernel" in report.missing
    save_file(t, str(tmp_path / "plain.safetensors"))
    plain = CheckpointReader(tmp_path / "plain.safetensors")
    assert fold_lora(plain) is plain  # nothing to fold: the reader itself
